"""Staff see the charger registry, send commands and read the journal in the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from apps.chargers.models import Charger, ChargerCommand, ChargerMessage
from apps.sessions.models import Session
from tests.factories.chargers import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("ayse", "ayse@echargo.example", "pw")
    client.force_login(user)
    return client


def test_registry_lists_chargers_with_heartbeat_time_zone_and_connection(staff, charger):
    page = staff.get("/admin/chargers/charger/")
    assert page.status_code == 200
    assert b"CP-ISTIKLAL-1" in page.content
    detail = staff.get(f"/admin/chargers/charger/{charger.pk}/change/")
    assert detail.status_code == 200
    assert b"OCPP connectors" in detail.content
    assert b"Send a command" in detail.content


def test_staff_register_a_charger_with_a_hashed_password(staff, station):
    answer = staff.post(
        "/admin/chargers/charger/add/",
        {
            "charge_point_id": "CP-NEW-7",
            "location": station.pk,
            "new_password": "a-long-enough-password-1",
            "connectors-TOTAL_FORMS": "0",
            "connectors-INITIAL_FORMS": "0",
        },
    )
    assert answer.status_code == 302, answer.content[:2000]
    charger = Charger.objects.get(charge_point_id="CP-NEW-7")
    assert charger.password_hash.startswith(("md5$", "pbkdf2"))
    assert "a-long-enough-password-1" not in charger.password_hash
    assert charger.check_password("a-long-enough-password-1")


def test_a_command_to_an_offline_charger_says_so(staff, charger):
    answer = staff.post(
        "/admin/chargers/chargercommand/add/",
        {"charger": charger.pk, "action": "reset_soft"},
        follow=True,
    )
    assert answer.status_code == 200
    command = ChargerCommand.objects.get()
    assert command.status == "offline"
    assert command.requested_by == "staff:ayse"
    assert b"not connected" in answer.content


def test_a_command_missing_its_arguments_is_refused_with_a_message(staff, charger):
    answer = staff.post(
        "/admin/chargers/chargercommand/add/",
        {"charger": charger.pk, "action": "unlock_connector"},
        follow=True,
    )
    assert answer.status_code == 200
    assert not ChargerCommand.objects.exists()
    assert b"needs connector_number" in answer.content


def test_reset_action_from_the_registry_queues_a_command(staff, charger):
    Charger.objects.filter(pk=charger.pk).update(connected=True, connected_node="n1")
    staff.post(
        "/admin/chargers/charger/",
        {"action": "reset_hard", "_selected_action": [charger.pk]},
    )
    command = ChargerCommand.objects.get()
    assert (command.action, command.status) == ("reset_hard", "queued")


def test_journal_and_sessions_pages_render(staff, charger):
    ChargerMessage.objects.create(
        created_at=charger.created_at,
        charger=charger,
        charge_point_id="CP-ISTIKLAL-1",
        kind="violation",
        note="Schema violation",
        needs_review=True,
        message='[2,"x"]',
    )
    assert staff.get("/admin/chargers/chargermessage/").status_code == 200
    message = ChargerMessage.objects.get()
    assert staff.get(f"/admin/chargers/chargermessage/{message.pk}/change/").status_code == 200
    assert staff.get("/admin/charging_sessions/session/").status_code == 200
    assert PASSWORD not in staff.get("/admin/chargers/charger/").content.decode()
    assert Session.objects.count() == 0
