"""Our eMSP side: commands sent to a partner CPO that is not Django, each with its own
unguessable response_url, followed to a final state: the result, a refusal, or TIMEOUT."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.commands import services
from apps.commands.models import Command
from apps.locations.models import EVSE
from apps.sessions.models import Session

pytestmark = pytest.mark.django_db


@pytest.fixture
def foc_evse(foreign_cpo):
    return EVSE.objects.get(uid="FOC-E1")


def sent(partner, command: str):
    posts = [r for r in partner.received("POST") if r.path.endswith(f"/commands/{command}")]
    assert len(posts) == 1, posts
    return posts[0]


def post_result(api, url: str, body: dict, token: str = "foc-token"):
    return api.as_token(token).post(urlsplit(url).path, body, format="json")


def test_start_session_is_sent_and_its_result_is_taken_once(
    api, driver_token, foc_evse, foreign_partner
):
    command = services.command_start_session(token=driver_token, evse=foc_evse)

    request = sent(foreign_partner, "START_SESSION")
    assert request.path == "/ocpi/cpo/2.2.1/commands/START_SESSION"
    assert request.headers["ocpi-to-party-id"] == "FOC"
    assert request.headers["ocpi-from-party-id"] == "ECH"
    body = request.body
    assert body["token"]["uid"] == "04OURDRIVER01"
    assert (body["location_id"], body["evse_uid"]) == ("LOC-FOC-1", "FOC-E1")
    assert body["authorization_reference"] == command.authorization_reference
    command.refresh_from_db()
    assert (command.state, command.response, command.response_timeout) == (
        "waiting",
        "ACCEPTED",
        30,
    )
    assert command.result_due_at > timezone.now()
    # The secret part of the response_url is nowhere in our database.
    secret = body["response_url"].rsplit("/", 1)[1]
    assert len(secret) >= 32
    assert secret not in command.response_url
    assert secret not in command.uid_hash

    answer = post_result(api, body["response_url"], {"result": "ACCEPTED"})
    assert answer.json()["status_code"] == 1000
    command.refresh_from_db()
    assert (command.state, command.result) == ("result", "ACCEPTED")
    assert command.finished_at is not None

    again = post_result(api, body["response_url"], {"result": "FAILED"})
    assert again.json()["status_code"] == 2001
    command.refresh_from_db()
    assert command.result == "ACCEPTED"


def test_every_command_gets_its_own_response_url(driver_token, foc_evse, foreign_partner):
    services.command_start_session(token=driver_token, evse=foc_evse)
    services.command_start_session(token=driver_token, evse=foc_evse)
    urls = {r.body["response_url"] for r in foreign_partner.received("POST")}
    assert len(urls) == 2


def test_a_result_for_an_unknown_command_or_from_another_connection_is_refused(
    api, bosphorus, driver_token, foc_evse, foreign_partner
):
    services.command_start_session(token=driver_token, evse=foc_evse)
    url = sent(foreign_partner, "START_SESSION").body["response_url"]
    base = url.rsplit("/", 1)[0]

    unknown = post_result(api, base + "/not-a-command-of-ours", {"result": "ACCEPTED"})
    other_partner = post_result(api, url, {"result": "ACCEPTED"}, token="bosphorus-token")
    other_type = post_result(
        api, url.replace("START_SESSION", "STOP_SESSION"), {"result": "ACCEPTED"}
    )

    assert [a.status_code for a in (unknown, other_partner, other_type)] == [404, 404, 404]
    command = Command.objects.get()
    assert (command.state, command.result) == ("waiting", "")


def test_a_result_that_does_not_arrive_in_time_ends_in_timeout(driver_token, foc_evse):
    command = services.command_start_session(token=driver_token, evse=foc_evse)
    assert services.commands_expire() == 0
    Command.objects.filter(pk=command.pk).update(
        result_due_at=timezone.now() - dt.timedelta(seconds=1)
    )

    assert services.commands_expire() == 1

    command.refresh_from_db()
    assert (command.state, command.result) == ("timed_out", "TIMEOUT")
    assert command.history.count() >= 3  # queued, waiting, timed out


def test_a_refusal_by_the_cpo_is_final(driver_token, foc_evse, foreign_partner):
    foreign_partner.command_response = {"result": "REJECTED", "timeout": 30}
    command = services.command_start_session(token=driver_token, evse=foc_evse)
    assert (command.state, command.response) == ("refused", "REJECTED")
    assert command.finished_at is not None


def test_a_cpo_that_fails_leaves_the_command_unreachable(driver_token, foc_evse, foreign_partner):
    foreign_partner.command_response = None
    command = services.command_start_session(token=driver_token, evse=foc_evse)
    assert command.state == "unreachable"
    assert "3000" in command.error or "500" in command.error


def test_a_cpo_answer_that_is_no_command_response_leaves_it_unreachable(
    driver_token, foc_evse, foreign_partner
):
    foreign_partner.command_response = {"result": "MAYBE"}
    command = services.command_start_session(token=driver_token, evse=foc_evse)
    assert command.state == "unreachable"


def test_unlock_reserve_and_cancel_carry_the_spec_objects(
    api, driver_token, foc_evse, foreign_partner
):
    until = timezone.now() + dt.timedelta(minutes=20)
    services.command_unlock_connector(connector=foc_evse.connectors.get())
    reserve = services.command_reserve_now(token=driver_token, evse=foc_evse, expiry_date=until)
    reserve_url = sent(foreign_partner, "RESERVE_NOW").body["response_url"]
    post_result(api, reserve_url, {"result": "ACCEPTED"})
    reserve.refresh_from_db()
    services.command_cancel_reservation(reservation=reserve)

    unlock = sent(foreign_partner, "UNLOCK_CONNECTOR").body
    assert {k: v for k, v in unlock.items() if k != "response_url"} == {
        "location_id": "LOC-FOC-1",
        "evse_uid": "FOC-E1",
        "connector_id": "1",
    }
    reserved = sent(foreign_partner, "RESERVE_NOW").body
    assert set(reserved) == {
        "response_url",
        "token",
        "expiry_date",
        "reservation_id",
        "location_id",
        "evse_uid",
        "authorization_reference",
    }
    cancel = sent(foreign_partner, "CANCEL_RESERVATION").body
    assert set(cancel) == {"response_url", "reservation_id"}
    assert cancel["reservation_id"] == reserved["reservation_id"]


def test_stop_session_names_the_partner_session(driver_token, foc_evse, foreign_partner):
    foc = foc_evse.location.owner
    session = Session.objects.create(
        owner=foc,
        country_code="DE",
        party_id="FOC",
        session_id="FOC-S-1",
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
    command = services.command_stop_session(session=session)
    assert command.state == "waiting"
    body = sent(foreign_partner, "STOP_SESSION").body
    assert set(body) == {"response_url", "session_id"}
    assert body["session_id"] == "FOC-S-1"


def test_commands_go_to_partners_only_with_our_own_tokens(
    driver_token, foc_evse, station, bosphorus
):
    from apps.tokens.models import Token

    with pytest.raises(ValidationError):
        services.command_start_session(token=driver_token, evse=station.evses.first())
    partner_token = Token.objects.create(
        owner=bosphorus.parties.get(),
        uid="BOS1",
        type="RFID",
        contract_id="TR-BOS-1",
        issuer="Bosphorus",
        whitelist="ALLOWED",
        last_updated=timezone.now(),
    )
    with pytest.raises(ValidationError):
        services.command_start_session(token=partner_token, evse=foc_evse)
    assert not Command.objects.exists()
