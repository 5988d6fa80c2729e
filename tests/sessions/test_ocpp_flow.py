"""A simulated charger over a real WebSocket charges a foreign (non-Django) eMSP's driver: the
session reaches that eMSP as a PUT when it starts, PATCHes as the meter runs, and a PUT when it
stops, in that order, with the routing headers; both sides end with the same session."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async

from apps.chargers.simulator import connected
from apps.partners.outbox import outbox_deliver
from apps.sessions.models import Session
from tests.chargers.conftest import central_system, cpo, station  # noqa: F401 (fixtures)
from tests.factories.chargers import PASSWORD, own_charger
from tests.factories.tokens import TokenFactory
from tests.foreign.conftest import foreign, foreign_partner  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_charge_over_ocpp_reaches_the_drivers_emsp_as_put_then_patches(
    central_system,  # noqa: F811
    station,  # noqa: F811
    foreign,  # noqa: F811
    foreign_partner,  # noqa: F811
):
    foreign.endpoints = [
        *foreign.endpoints,
        *foreign_partner.endpoints("sessions", role="RECEIVER"),
    ]
    foreign.save()
    party = foreign.parties.get(role="EMSP")
    token = TokenFactory(owner=party, country_code="DE", party_id="FOR", uid="04FOREIGN0001")
    foreign_partner.lists["tokens"] = [
        {
            "country_code": "DE",
            "party_id": "FOR",
            "uid": token.uid,
            "type": "RFID",
            "contract_id": token.contract_id,
            "issuer": "Foreign",
            "valid": True,
            "whitelist": "ALLOWED",
            "last_updated": "2026-03-01T00:00:00Z",
        }
    ]
    charger = own_charger(station, charge_point_id="CP-SESSION-1")
    deliver = sync_to_async(outbox_deliver)

    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot(firmware_version="2.0.7")
            await cp.status(1, "Available")
            cp.meter.energy_wh = 1_000_000
            started = await cp.start_transaction(
                1, "04FOREIGN0001", timestamp="2026-03-02T10:00:00Z"
            )
            tx = started.transaction_id
            await deliver(connection_id=foreign.pk)
            for minute, energy in ((10, 1_002_000), (20, 1_004_000)):
                cp.meter.energy_wh = energy
                await cp.meter_values(1, tx, power_w=11000, timestamp=f"2026-03-02T10:{minute}:00Z")
                await deliver(connection_id=foreign.pk)
            cp.meter.energy_wh = 1_006_000
            await cp.stop_transaction(tx, timestamp="2026-03-02T10:30:00Z")
            await deliver(connection_id=foreign.pk)

    asyncio.run(scenario())
    session = Session.objects.get()
    path = f"/ocpi/emsp/2.2.1/sessions/TR/ECH/{session.session_id}"
    sent = [(r.method, r.path) for r in foreign_partner.requests if r.path == path]
    assert sent == [("PUT", path), ("PATCH", path), ("PATCH", path), ("PUT", path)]
    patches = [r.body for r in foreign_partner.requests if r.method == "PATCH"]
    assert [Decimal(str(p["kwh"])) for p in patches] == [Decimal(2), Decimal(4)]
    for request in foreign_partner.requests:
        if request.path == path:
            assert request.headers["ocpi-to-country-code"] == "DE"
            assert request.headers["ocpi-to-party-id"] == "FOR"
            assert request.headers["ocpi-from-country-code"] == "TR"
    held = foreign_partner.held["sessions"][f"TR/ECH/{session.session_id}".upper()]
    assert held["status"] == session.status == "COMPLETED"
    assert Decimal(str(held["kwh"])) == session.kwh == Decimal("6.0000")
    assert len(held["charging_periods"]) == len(session.charging_periods)
    assert Decimal(str(held["total_cost"]["incl_vat"])) == session.total_cost_incl_vat
