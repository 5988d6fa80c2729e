"""Own party first: until `manage.py ocpi_party` has run, nothing hands a partner our credentials.

OCPI 2.2.1 credentials `roles` is 1..*: on a fresh database (migrate, no seed_demo) we host no
party, so invitations, registrations and the credentials endpoints refuse, naming the command.
"""

from __future__ import annotations

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from apps.partners.models import AccessToken, PartnerConnection
from apps.partners.services import connection_invite
from tests.factories.partners import PartnerConnectionFactory, issue_token
from tests.peer import free_port

pytestmark = pytest.mark.django_db

THE_COMMAND = "manage.py ocpi_party COUNTRY_CODE PARTY_ID --name NAME"


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("alice", "alice@echargo.example", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def invitation_from_before():
    """A pending invitation whose token A was handed out before our own party was removed."""
    connection = PartnerConnectionFactory(name="Early Partner", status="pending", version="")
    return connection, issue_token(connection, "early-token-a", kind=AccessToken.Kind.REGISTRATION)


def test_a_fresh_database_refuses_an_invite_with_the_command_to_run():
    with pytest.raises(CommandError, match=THE_COMMAND):
        call_command("ocpi_invite", "Partner B.V.")
    assert not PartnerConnection.objects.exists()


def test_after_ocpi_party_the_invite_is_made():
    call_command("ocpi_party", "TR", "ECH", "--name", "echargo Istanbul")
    connection, _ = connection_invite(name="Partner B.V.")
    assert connection.status == PartnerConnection.Status.PENDING


def test_a_fresh_database_refuses_to_connect_before_calling_the_partner():
    url = f"http://127.0.0.1:{free_port()}/ocpi/versions"
    with pytest.raises(CommandError, match=THE_COMMAND):
        call_command("ocpi_connect", url, "token-a-from-partner", "--name", "Partner B.V.")
    assert not PartnerConnection.objects.exists()


def test_the_admin_refuses_invite_and_connect_with_the_command_to_run(staff):
    page = staff.post(
        "/admin/partners/partnerconnection/invite/", {"name": "Ankara EV"}, follow=True
    ).content.decode()
    assert "manage.py ocpi_party COUNTRY_CODE PARTY_ID" in page
    url = f"http://127.0.0.1:{free_port()}/ocpi/versions"
    page = staff.post(
        "/admin/partners/partnerconnection/connect/",
        {"name": "Gone Charging", "versions_url": url, "token_a": "abc"},
        follow=True,
    ).content.decode()
    assert "manage.py ocpi_party COUNTRY_CODE PARTY_ID" in page
    assert not PartnerConnection.objects.exists()


@responses.activate
def test_credentials_post_is_refused_with_3000_and_nothing_changes(api, invitation_from_before):
    connection, token_a = invitation_from_before
    body = {
        "token": "partner-token-b",
        "url": "https://partner.example/ocpi/versions",
        "roles": [
            {
                "role": "CPO",
                "party_id": "PAR",
                "country_code": "NL",
                "business_details": {"name": "Partner B.V."},
            }
        ],
    }
    response = api.as_token(token_a).post("/ocpi/2.2.1/credentials", body, format="json")
    assert response.status_code == 503
    assert response.json()["status_code"] == 3000
    assert THE_COMMAND in response.json()["status_message"]
    assert not responses.calls, "the partner is not called"
    connection.refresh_from_db()
    assert connection.status == PartnerConnection.Status.PENDING
    assert connection.tokens.get().kind == AccessToken.Kind.REGISTRATION


def test_credentials_get_and_put_are_refused_with_3000(api, bosphorus):
    client = api.as_token("bosphorus-token")
    answer = client.get("/ocpi/2.2.1/credentials")
    assert (answer.status_code, answer.json()["status_code"]) == (503, 3000)
    assert THE_COMMAND in answer.json()["status_message"]
    put = {
        "token": "new-token",
        "url": "https://bosphorus.example/ocpi/versions",
        "roles": [
            {
                "role": "EMSP",
                "party_id": "BOS",
                "country_code": "TR",
                "business_details": {"name": "Bosphorus Mobility"},
            }
        ],
    }
    answer = client.put("/ocpi/2.2.1/credentials", put, format="json")
    assert (answer.status_code, answer.json()["status_code"]) == (503, 3000)
    # The partner's token still works: nothing was rotated.
    assert client.get("/ocpi/versions").status_code == 200


def test_updating_our_credentials_at_a_partner_is_refused_with_the_command(bosphorus):
    with pytest.raises(CommandError, match=THE_COMMAND):
        call_command("ocpi_credentials", "update", "Bosphorus Mobility")
