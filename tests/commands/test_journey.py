"""The commands journey between two echargo instances over real HTTP (issue 15 item 5).

We are A, the CPO: our station, its charger simulated over OCPP on real WebSockets. The peer
is B, the eMSP: its driver's token reaches us by push, and B's `manage.py ocpi_command` (what
its staff do in the admin) sends the remote START_SESSION to our commands Receiver. The
charger gets RemoteStartTransaction, the session opens with B's token and B's
authorization_reference, and our CommandResult reaches B's response_url, where B's command
ends ACCEPTED. A command to our charger while it is offline ends FAILED at B.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import pytest
from asgiref.sync import sync_to_async

from apps.chargers.simulator import connected
from apps.partners.clients import partner_client
from apps.partners.outbox import outbox_deliver
from apps.sessions.models import Session
from apps.sessions.wire import session_document
from apps.tokens.models import Token
from tests.chargers.test_commands import connected_to
from tests.commands.waiting import eventually
from tests.factories.chargers import PASSWORD, own_charger
from tests.factories.locations import EVSEData, own_location
from tests.factories.tariffs import own_tariff

pytestmark = [pytest.mark.peer, pytest.mark.django_db(transaction=True)]


def fields(out: str) -> dict[str, str]:
    return dict(re.findall(r"(\w+)=(\S*)", out))


def start_from_b(peer, uid: str, location_id: str, evse_uid: str = "J-E1") -> dict[str, str]:
    """B's staff start a session for B's driver at our EVSE (`manage.py ocpi_command`)."""
    out = peer.manage(
        "ocpi_command", "start", "--token", uid, "--location", location_id, "--evse", evse_uid
    )
    return fields(out)


@pytest.fixture
def journey(connected_peer, peer, cpo, settings):
    """Our station and charger, created once connected so their documents reach B by push;
    B's driver and its token (pushed to us)."""
    own_tariff(cpo, id="AC-STANDARD")
    location = own_location(cpo, id=f"JOURNEY-{uuid.uuid4().hex[:6]}", evses=[EVSEData(uid="J-E1")])
    charger = own_charger(location, charge_point_id=f"CP-J-{uuid.uuid4().hex[:6]}")
    outbox_deliver(connection_id=connected_peer.pk)
    uid = f"NLJ{uuid.uuid4().hex[:8].upper()}"
    peer.manage(
        "token_issue",
        uid,
        "--contract-id",
        f"NL-PEE-{uid}",
        "--issuer",
        "Peer",
        "--whitelist",
        "ALLOWED",
    )
    assert Token.objects.filter(uid=uid, party_id="PEE").exists()
    return location, charger, uid


def b_holds(connection, session: Session) -> dict:
    """The session as B's sessions Receiver holds it (OCPI GET, real HTTP)."""
    url = connection.endpoint_url("sessions", "RECEIVER")
    with partner_client(connection) as client:
        data = client.get(f"{url}/TR/ECH/{session.session_id}").data
    return json.loads(json.dumps(data, default=float))


def ours(session: Session) -> dict:
    session.refresh_from_db()
    return json.loads(json.dumps(session_document(session), default=float))


WIRE_FACTS = ("status", "kwh", "charging_periods", "total_cost", "start_date_time")


def test_bs_driver_charges_at_our_station_started_and_stopped_by_remote_commands(
    journey, connected_peer, peer, central_system
):
    location, charger, uid = journey
    deliver = sync_to_async(outbox_deliver)

    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot()
            await connected_to(central_system, charger)
            started = await asyncio.to_thread(start_from_b, peer, uid, location.location_id)
            session = await eventually(
                lambda: cp.transactions and Session.objects.filter(token_uid=uid).first()
            )
            await deliver(connection_id=connected_peer.pk)
            at_start = await sync_to_async(b_holds)(connected_peer, session)

            # The simulator charges: 7.5 kWh in three readings, each PATCHed to B.
            transaction_id = next(iter(cp.transactions))
            for _ in range(3):
                cp.meter.energy_wh += 2500
                await cp.meter_values(1, transaction_id, power_w=11000)
                await deliver(connection_id=connected_peer.pk)
            charging = await sync_to_async(b_holds)(connected_peer, session)

            # B stops it: STOP_SESSION -> RemoteStopTransaction -> StopTransaction.
            stopped = await asyncio.to_thread(
                lambda: fields(peer.manage("ocpi_command", "stop", "--session", session.session_id))
            )
            await eventually(
                lambda: (
                    not cp.transactions
                    and Session.objects.filter(pk=session.pk, status="COMPLETED").exists()
                )
            )
            await deliver(connection_id=connected_peer.pk)
            return started, stopped, session, at_start, charging, cp.received

    started, stopped, session, at_start, charging, received = asyncio.run(scenario())

    assert (started["state"], started["response"]) == ("waiting", "ACCEPTED")
    assert received[0] == ("RemoteStartTransaction", {"id_tag": uid})
    assert received[1][0] == "RemoteStopTransaction"
    assert (session.token_country_code, session.token_party_id) == ("NL", "PEE")
    assert session.auth_method == "COMMAND"
    assert session.authorization_reference == started["reference"]
    # B saw the session appear, then grow as the charger metered.
    assert at_start["status"] == "ACTIVE"
    assert at_start["cdr_token"]["uid"] == uid
    assert charging["kwh"] == 7.5
    # Both sides end COMPLETED with the same energy, periods and cost.
    final_a, final_b = ours(session), b_holds(connected_peer, session)
    assert final_a["status"] == "COMPLETED"
    assert {k: final_b.get(k) for k in WIRE_FACTS} == {k: final_a.get(k) for k in WIRE_FACTS}
    assert final_b["kwh"] == 7.5
    assert final_b["total_cost"]["excl_vat"] > 0
    # B's two commands ended ACCEPTED (our results reached its response_urls).
    for sent in (started, stopped):
        shown = fields(peer.manage("ocpi_command", "show", "--command", sent["command"]))
        assert (shown["state"], shown["result"]) == ("result", "ACCEPTED")


def test_a_command_to_our_offline_charger_ends_failed_at_b(journey, connected_peer, peer):
    location, _charger, uid = journey
    sent = start_from_b(peer, uid, location.location_id)
    assert sent["response"] == "ACCEPTED"
    outbox_deliver(connection_id=connected_peer.pk)
    shown = fields(peer.manage("ocpi_command", "show", "--command", sent["command"]))
    assert (shown["state"], shown["result"]) == ("result", "FAILED")


def test_a_start_at_an_unknown_evse_is_refused_at_b(journey, peer):
    location, _charger, uid = journey
    result = peer.run(
        "ocpi_command", "start", "--token", uid, "--location", location.location_id,
        "--evse", "NO-SUCH-EVSE",
    )  # fmt: skip
    assert result.returncode != 0
    assert "No such partner EVSE" in result.stderr


def test_a_start_at_an_evse_no_charger_serves_is_refused_by_us(journey, peer):
    location, charger, uid = journey
    charger.connectors.all().delete()  # the EVSE stays published, no charger behind it
    sent = start_from_b(peer, uid, location.location_id)
    assert (sent["state"], sent["response"]) == ("refused", "REJECTED")


EXPIRE_AT_B = """
import datetime as dt
from django.utils import timezone
from apps.commands.models import Command
from apps.commands.services import commands_expire
# The CPO's timeout has passed (we do not wait minutes in a test).
Command.objects.filter(pk={pk}).update(result_due_at=timezone.now() - dt.timedelta(seconds=1))
print("expired", commands_expire())
"""


def test_a_result_that_never_reaches_b_ends_in_timeout_there(
    journey, peer, central_system, settings
):
    location, charger, uid = journey
    settings.OCPP_CALL_TIMEOUT = 120  # our charger hangs, and we wait for it longer than B does

    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot()
            await connected_to(central_system, charger)
            cp._reader.cancel()  # the charger reads nothing more: no result while this runs
            await asyncio.sleep(0)
            sent = await asyncio.to_thread(start_from_b, peer, uid, location.location_id)
            expired = await asyncio.to_thread(
                peer.manage, "shell", "-c", EXPIRE_AT_B.format(pk=sent["command"])
            )
            shown = await asyncio.to_thread(
                peer.manage, "ocpi_command", "show", "--command", sent["command"]
            )
            return sent, expired, fields(shown)

    sent, expired, shown = asyncio.run(scenario())
    assert sent["state"] == "waiting"
    assert "expired 1" in expired
    assert (shown["state"], shown["result"]) == ("timed_out", "TIMEOUT")
