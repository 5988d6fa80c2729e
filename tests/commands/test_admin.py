"""Staff send commands to partners' EVSEs and stop our drivers' sessions there from the admin;
the command pages show states and zoned times, never the response_url's secret."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.commands.models import Command
from apps.locations.models import EVSE

pytestmark = pytest.mark.django_db


@pytest.fixture
def foc_evse(foreign_cpo):
    return EVSE.objects.get(uid="FOC-E1")


def test_staff_start_a_session_from_the_send_page(
    admin_client, driver_token, foc_evse, foreign_partner
):
    url = reverse("admin:commands_command_send")
    assert admin_client.get(f"{url}?evse={foc_evse.pk}").status_code == 200

    answer = admin_client.post(
        url, {"command": "START_SESSION", "evse": foc_evse.pk, "token": driver_token.pk}
    )

    command = Command.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == reverse("admin:commands_command_change", args=[command.pk])
    assert (command.state, command.requested_by) == ("waiting", "staff:admin")
    page = admin_client.get(reverse("admin:commands_command_changelist")).content.decode()
    assert "Accepted by the CPO, waiting for the result" in page
    assert " UTC" in page
    secret = foreign_partner.received("POST")[0].body["response_url"].rsplit("/", 1)[1]
    detail = admin_client.get(answer["Location"]).content.decode()
    assert secret not in page
    assert secret not in detail


def test_a_start_without_a_token_is_refused_with_a_message(admin_client, foc_evse):
    answer = admin_client.post(
        reverse("admin:commands_command_send"),
        {"command": "START_SESSION", "evse": foc_evse.pk},
        follow=True,
    )
    assert "Choose the driver" in answer.content.decode()
    assert not Command.objects.exists()


def test_the_evse_action_opens_the_send_page(admin_client, foc_evse):
    answer = admin_client.post(
        reverse("admin:locations_evse_changelist"),
        {"action": "send_command_to_evse", "_selected_action": [foc_evse.pk]},
    )
    assert answer.status_code == 302
    assert answer["Location"].endswith(f"/send/?evse={foc_evse.pk}")


def test_a_refused_command_is_shown_as_a_failure(
    admin_client, driver_token, foc_evse, foreign_partner
):
    foreign_partner.command_response = {"result": "REJECTED", "timeout": 0}
    answer = admin_client.post(
        reverse("admin:commands_command_send"),
        {"command": "RESERVE_NOW", "evse": foc_evse.pk, "token": driver_token.pk, "minutes": 30},
        follow=True,
    )
    assert "Refused by the CPO" in answer.content.decode()
    page = admin_client.get(reverse("admin:commands_command_changelist")).content.decode()
    assert "color:#ba2121" in page


def test_partner_commands_and_reservations_pages_render(admin_client):
    for name in ("receivedcommand", "reservation"):
        assert admin_client.get(reverse(f"admin:commands_{name}_changelist")).status_code == 200


def test_the_session_action_stops_our_drivers_session_at_the_partner(
    admin_client, driver_token, foc_evse, foreign_partner
):
    from django.utils import timezone

    from apps.sessions.models import Session

    session = Session.objects.create(
        owner=foc_evse.location.owner,
        country_code="DE",
        party_id="FOC",
        session_id="FOC-S-9",
        start_date_time=timezone.now(),
        token_country_code="TR",
        token_party_id="ECH",
        token_uid=driver_token.uid,
        token_type="RFID",
        token_contract_id=driver_token.contract_id,
        auth_method="COMMAND",
        location_id="LOC-FOC-1",
        evse_uid="FOC-E1",
        connector_id="1",
        currency="EUR",
        status="ACTIVE",
        last_updated=timezone.now(),
        time_zone="Europe/Berlin",
    )
    answer = admin_client.post(
        reverse("admin:charging_sessions_session_changelist"),
        {"action": "stop_sessions", "_selected_action": [session.pk]},
        follow=True,
    )
    assert "Stop session: Accepted by the CPO" in answer.content.decode()
    command = Command.objects.get()
    assert (command.command, command.session_ocpi_id) == ("STOP_SESSION", "FOC-S-9")
