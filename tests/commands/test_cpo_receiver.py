"""Our CPO commands Receiver, called by a partner eMSP that is not Django, with a simulated
charger over real WebSockets: the CommandResponse comes at once, the charger gets the OCPP
call, and the CommandResult reaches the eMSP's response_url through the outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from apps.chargers.models import ChargerCommand
from apps.chargers.simulator import connected
from apps.commands.models import ReceivedCommand, Reservation
from apps.partners.models import OutboxMessage
from apps.partners.outbox import outbox_deliver
from apps.sessions.models import Session
from echargo.ocpi.fields import format_ocpi_datetime
from tests.chargers.test_commands import connected_to
from tests.commands.conftest import FOR_TOKEN
from tests.commands.waiting import eventually
from tests.factories.chargers import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def response_url(partner, command: str, uid: str = "c-1") -> str:
    return f"{partner.url}/ocpi/emsp/2.2.1/commands/{command}/{uid}"


def post(api, command: str, body: dict, token: str = "foreign-token") -> dict:
    answer = api.as_token(token).post(f"/ocpi/cpo/2.2.1/commands/{command}", body, format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()


def start_body(partner, station, **extra) -> dict:
    return {
        "response_url": response_url(partner, "START_SESSION"),
        "token": FOR_TOKEN,
        "location_id": station.location_id,
        "evse_uid": "E1",
        "authorization_reference": "REF-FOR-1",
        **extra,
    }


async def result_queued(command: str, seconds: float = 15) -> ReceivedCommand:
    return await eventually(
        lambda: ReceivedCommand.objects.filter(
            command=command, result_queued_at__isnull=False
        ).first(),
        seconds,
    )


async def until(predicate, seconds: float = 15) -> None:
    await eventually(predicate, seconds)


def delivered_results(partner, connection) -> list:
    """The results the partner received, once our outbox holds none undelivered (without
    Redis, delivery runs inline in the server's thread and may be under way)."""
    for _ in range(100):
        outbox_deliver(connection_id=connection.pk)
        if not OutboxMessage.objects.filter(
            module="commands", status__in=("pending", "delivering")
        ).exists():
            return partner.command_results
        time.sleep(0.1)
    raise AssertionError("results still undelivered")


def test_start_session_reaches_the_charger_and_its_result_reaches_the_emsp(
    api, central_system, charger, station, foreign_emsp, foreign_partner
):
    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot()
            await connected_to(central_system, charger)
            answer = await sync_to_async(post)(
                api, "START_SESSION", start_body(foreign_partner, station)
            )
            await result_queued("START_SESSION")
            await until(lambda: Session.objects.exists())
            return answer, cp.received

    answer, received = asyncio.run(scenario())

    assert answer["status_code"] == 1000
    assert answer["data"]["result"] == "ACCEPTED"
    assert answer["data"]["timeout"] > 0
    assert received[0] == ("RemoteStartTransaction", {"id_tag": "FORDRIVER01"})
    session = Session.objects.get()
    assert (session.token_country_code, session.token_party_id) == ("DE", "FOR")
    assert (session.token_uid, session.auth_method) == ("FORDRIVER01", "COMMAND")
    assert session.authorization_reference == "REF-FOR-1"
    results = delivered_results(foreign_partner, foreign_emsp)
    assert [r.body for r in results] == [{"result": "ACCEPTED"}]
    assert results[0].path == "/ocpi/emsp/2.2.1/commands/START_SESSION/c-1"
    assert results[0].headers["ocpi-to-party-id"] == "FOR"
    assert results[0].headers["ocpi-from-party-id"] == "ECH"


def test_stop_session_stops_the_charger_transaction(
    api, central_system, charger, station, foreign_emsp, foreign_partner
):
    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot()
            await connected_to(central_system, charger)
            await sync_to_async(post)(api, "START_SESSION", start_body(foreign_partner, station))
            await until(lambda: Session.objects.exists())
            session = await eventually(lambda: Session.objects.first())
            stop = {
                "response_url": response_url(foreign_partner, "STOP_SESSION", "c-2"),
                "session_id": session.session_id,
            }
            answer = await sync_to_async(post)(api, "STOP_SESSION", stop)
            await result_queued("STOP_SESSION")
            await until(lambda: Session.objects.filter(status="COMPLETED").exists())
            return answer, cp.received

    answer, received = asyncio.run(scenario())

    assert answer["data"]["result"] == "ACCEPTED"
    assert [name for name, _ in received] == ["RemoteStartTransaction", "RemoteStopTransaction"]
    assert Session.objects.get().stop_reason == "Remote"
    results = delivered_results(foreign_partner, foreign_emsp)
    assert {r.path.split("/")[-2]: r.body["result"] for r in results} == {
        "START_SESSION": "ACCEPTED",
        "STOP_SESSION": "ACCEPTED",
    }


def test_unlock_connector_reaches_the_mapped_connector(
    api, central_system, charger, station, foreign_emsp, foreign_partner
):
    body = {
        "response_url": response_url(foreign_partner, "UNLOCK_CONNECTOR"),
        "location_id": station.location_id,
        "evse_uid": "E2",
        "connector_id": "1",
    }

    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot()
            await connected_to(central_system, charger)
            answer = await sync_to_async(post)(api, "UNLOCK_CONNECTOR", body)
            await result_queued("UNLOCK_CONNECTOR")
            return answer, cp.received

    answer, received = asyncio.run(scenario())
    assert answer["data"]["result"] == "ACCEPTED"
    assert received == [("UnlockConnector", {"connector_id": 2})]
    assert [r.body for r in delivered_results(foreign_partner, foreign_emsp)] == [
        {"result": "ACCEPTED"}
    ]


def test_reserve_now_is_stored_and_cancel_reservation_ends_it(
    api, central_system, charger, station, foreign_emsp, foreign_partner
):
    until_at = format_ocpi_datetime(timezone.now() + dt.timedelta(minutes=30))
    reserve = {
        "response_url": response_url(foreign_partner, "RESERVE_NOW", "r-1"),
        "token": FOR_TOKEN,
        "expiry_date": until_at,
        "reservation_id": "FOR-RES-1",
        "location_id": station.location_id,
        "evse_uid": "E1",
    }
    cancel = {
        "response_url": response_url(foreign_partner, "CANCEL_RESERVATION", "r-2"),
        "reservation_id": "for-res-1",  # CiString: case does not matter
    }

    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot()
            await connected_to(central_system, charger)
            reserved = await sync_to_async(post)(api, "RESERVE_NOW", reserve)
            await result_queued("RESERVE_NOW")
            active = await eventually(lambda: Reservation.objects.first())
            canceled = await sync_to_async(post)(api, "CANCEL_RESERVATION", cancel)
            await result_queued("CANCEL_RESERVATION")
            return reserved, active, canceled, cp.received

    reserved, active, canceled, received = asyncio.run(scenario())
    assert reserved["data"]["result"] == canceled["data"]["result"] == "ACCEPTED"
    assert active.status == "active"
    assert received[0] == ("ReserveNow", {"connector_id": 1, "id_tag": "FORDRIVER01"})
    # The charger gets our reservation id, unique across eMSPs, not the eMSP's.
    assert received[1] == ("CancelReservation", {"reservation_id": active.pk})
    assert Reservation.objects.get().status == "canceled"
    results = delivered_results(foreign_partner, foreign_emsp)
    assert [r.body["result"] for r in results] == ["ACCEPTED", "ACCEPTED"]


def test_cancel_of_an_unknown_reservation_answers_unknown_reservation(
    api, station, foreign_emsp, foreign_partner
):
    body = {
        "response_url": response_url(foreign_partner, "CANCEL_RESERVATION"),
        "reservation_id": "NONE",
    }
    answer = post(api, "CANCEL_RESERVATION", body)
    assert answer["data"]["result"] == "ACCEPTED"
    assert [r.body["result"] for r in delivered_results(foreign_partner, foreign_emsp)] == [
        "UNKNOWN_RESERVATION"
    ]


def test_a_command_to_an_offline_charger_ends_failed(
    api, charger, station, foreign_emsp, foreign_partner
):
    answer = post(api, "START_SESSION", start_body(foreign_partner, station))
    assert answer["data"]["result"] == "ACCEPTED"
    assert ChargerCommand.objects.get().status == "offline"
    results = delivered_results(foreign_partner, foreign_emsp)
    assert [r.body["result"] for r in results] == ["FAILED"]
    assert "offline" in results[0].body["message"][0]["text"]


def test_a_charger_that_never_answers_ends_in_timeout(
    api, central_system, charger, station, foreign_emsp, foreign_partner, settings
):
    settings.OCPP_CALL_TIMEOUT = 0.5

    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot()
            await connected_to(central_system, charger)
            cp._reader.cancel()  # the charger hangs: it reads nothing more
            await asyncio.sleep(0)
            await sync_to_async(post)(api, "START_SESSION", start_body(foreign_partner, station))
            return await result_queued("START_SESSION")

    row = asyncio.run(scenario())
    assert row.result == "TIMEOUT"
    assert [r.body["result"] for r in delivered_results(foreign_partner, foreign_emsp)] == [
        "TIMEOUT"
    ]


def test_a_charger_refusal_is_the_result(
    api, central_system, charger, station, foreign_emsp, foreign_partner
):
    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            cp.answers = {"RemoteStartTransaction": "Rejected"}
            await cp.boot()
            await connected_to(central_system, charger)
            await sync_to_async(post)(api, "START_SESSION", start_body(foreign_partner, station))
            return await result_queued("START_SESSION")

    assert asyncio.run(scenario()).result == "REJECTED"
    assert not Session.objects.exists()


def test_stop_of_an_unknown_session_answers_unknown_session(
    api, charger, foreign_emsp, foreign_partner
):
    body = {"response_url": response_url(foreign_partner, "STOP_SESSION"), "session_id": "nope"}
    answer = post(api, "STOP_SESSION", body)
    assert answer["data"]["result"] == "UNKNOWN_SESSION"
    assert not ReceivedCommand.objects.exists()
    assert not ChargerCommand.objects.exists()


def test_an_unknown_location_is_2003_and_rejected(api, charger, foreign_emsp, foreign_partner):
    body = {**start_body(foreign_partner, charger.location), "location_id": "NO-SUCH-LOCATION"}
    answer = post(api, "START_SESSION", body)
    assert answer["status_code"] == 2003
    assert answer["data"]["result"] == "REJECTED"
    assert not ChargerCommand.objects.exists()


def test_a_token_of_another_party_is_rejected(api, charger, station, foreign_emsp, foreign_partner):
    body = start_body(foreign_partner, station, token={**FOR_TOKEN, "party_id": "XYZ"})
    answer = post(api, "START_SESSION", body)
    assert answer["data"]["result"] == "REJECTED"
    assert not ChargerCommand.objects.exists()


def test_a_token_its_emsp_calls_blocked_is_rejected(
    api, charger, station, foreign_emsp, foreign_partner
):
    foreign_partner.authorize_allowed = "BLOCKED"
    answer = post(api, "START_SESSION", start_body(foreign_partner, station))
    assert answer["data"]["result"] == "REJECTED"
    assert not ChargerCommand.objects.exists()
    authorize = [r for r in foreign_partner.received("POST") if r.path.endswith("/authorize")]
    assert authorize[0].path == "/ocpi/emsp/2.2.1/tokens/FORDRIVER01/authorize"
