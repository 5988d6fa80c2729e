"""Staff connect and invite partners from the admin; tokens never appear in clear there."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from apps.partners.models import AccessToken, PartnerConnection
from tests.peer import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("alice", "alice@echargo.example", "pw")
    client.force_login(user)
    return client


def test_invite_shows_token_a_once_and_stores_only_its_hash(staff, our_parties):
    response = staff.post(
        "/admin/partners/partnerconnection/invite/", {"name": "Ankara EV"}, follow=True
    )
    page = response.content.decode()
    connection = PartnerConnection.objects.get(name="Ankara EV")
    assert connection.status == "pending"
    token_a = page.split("token A (shown once): ")[1].split("<")[0].strip()
    assert len(token_a) == 43
    assert AccessToken.objects.get(connection=connection).kind == "A"
    change_page = staff.get(f"/admin/partners/partnerconnection/{connection.pk}/change/")
    assert token_a not in change_page.content.decode()


def test_connect_to_unreachable_partner_shows_the_reason(staff, our_parties):
    url = f"http://127.0.0.1:{free_port()}/ocpi/versions"
    response = staff.post(
        "/admin/partners/partnerconnection/connect/",
        {"name": "Gone Charging", "versions_url": url, "token_a": "abc"},
        follow=True,
    )
    page = response.content.decode()
    assert "Registration failed" in page
    assert "3001" in page
    connection = PartnerConnection.objects.get(name="Gone Charging")
    assert connection.status == "pending"
    assert "abc" not in connection.outgoing_token_encrypted


def test_connection_list_shows_backlog_and_parties(staff, bosphorus):
    page = staff.get("/admin/partners/partnerconnection/").content.decode()
    assert "Bosphorus Mobility" in page
    assert "TR*BOS (EMSP)" in page
    assert "bosphorus-token" not in page


def test_suspend_action_refuses_the_partner_token(staff, bosphorus, api):
    staff.post(
        "/admin/partners/partnerconnection/",
        {"action": "suspend", "_selected_action": [bosphorus.pk]},
    )
    bosphorus.refresh_from_db()
    assert bosphorus.status == "suspended"
    assert api.as_token("bosphorus-token").get("/ocpi/versions").status_code == 401
