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
import re
import uuid

import pytest
from asgiref.sync import sync_to_async

from apps.chargers.simulator import connected
from apps.partners.outbox import outbox_deliver
from apps.sessions.models import Session
from apps.tokens.models import Token
from tests.chargers.test_commands import connected_to
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


def test_bs_driver_starts_a_session_at_our_station_by_remote_start_session(
    journey, connected_peer, peer, central_system
):
    location, charger, uid = journey

    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot()
            await connected_to(central_system, charger)
            out = await asyncio.to_thread(
                peer.manage,
                "ocpi_command",
                "start",
                "--token",
                uid,
                "--location",
                location.location_id,
                "--evse",
                "J-E1",
            )
            for _ in range(200):
                if await Session.objects.filter(token_uid=uid).aexists():
                    break
                await asyncio.sleep(0.05)
            await sync_to_async(outbox_deliver)(connection_id=connected_peer.pk)
            return fields(out), cp.received

    sent, received = asyncio.run(scenario())

    assert (sent["state"], sent["response"]) == ("waiting", "ACCEPTED")
    assert received[0] == ("RemoteStartTransaction", {"id_tag": uid})
    session = Session.objects.get(token_uid=uid)
    assert (session.token_country_code, session.token_party_id) == ("NL", "PEE")
    assert session.auth_method == "COMMAND"
    assert session.authorization_reference == sent["reference"]
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


def test_a_result_that_never_reaches_b_ends_in_timeout_there(journey, peer):
    location, _charger, uid = journey
    sent = start_from_b(peer, uid, location.location_id)
    assert sent["state"] == "waiting"
    # Our result stays in our outbox (not delivered): B's sweep ends the command.
    assert "expired 1" in peer.manage("shell", "-c", EXPIRE_AT_B.format(pk=sent["command"]))
    shown = fields(peer.manage("ocpi_command", "show", "--command", sent["command"]))
    assert (shown["state"], shown["result"]) == ("timed_out", "TIMEOUT")
