"""A simulated charger over a real WebSocket: boot, Available, a token authorizes, a transaction
runs with meter values and stops; the session, the EVSE status and the partner push follow."""

from __future__ import annotations

import asyncio
import json
import re
from decimal import Decimal

import pytest
import responses

from apps.chargers.models import ChargerMessage, ChargerTransaction
from apps.chargers.simulator import connected
from apps.locations.models import EVSE
from apps.partners.models import OutboxMessage
from apps.partners.outbox import outbox_deliver
from apps.sessions.models import Session
from tests.factories.chargers import PASSWORD
from tests.locations.conftest import BOSPHORUS_LOCATIONS

OK = {"status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}


def partner_receiver() -> responses.RequestsMock:
    """The partner's locations Receiver (our outbox delivers there, inline or from the test)."""
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    for method in (responses.PUT, responses.PATCH):
        mock.add(method, re.compile(re.escape(BOSPHORUS_LOCATIONS) + ".*"), json=OK)
    return mock


pytestmark = pytest.mark.django_db(transaction=True)


def test_a_full_charge_becomes_a_priced_session_and_evse_statuses_reach_the_partner(
    central_system, charger, driver_token, bosphorus_receives
):
    answers = {}

    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            answers["boot"] = await cp.boot(firmware_version="2.0.7")
            await cp.status(1, "Available")
            await cp.status(1, "Preparing")
            answers["authorize"] = await cp.authorize("04OURDRIVER01")
            cp.meter.energy_wh = 1_000_000
            started = await cp.start_transaction(
                1, "04OURDRIVER01", timestamp="2026-03-02T10:00:00Z"
            )
            answers["start"] = started
            tx = started.transaction_id
            await cp.status(1, "Charging")
            for minute, energy in ((10, 1_003_000), (20, 1_006_500), (30, 1_010_000)):
                cp.meter.energy_wh = energy
                await cp.meter_values(1, tx, power_w=21000, timestamp=f"2026-03-02T10:{minute}:00Z")
            answers["stop"] = await cp.stop_transaction(tx, timestamp="2026-03-02T10:40:00Z")
            await cp.status(1, "Available")

    with partner_receiver() as receiver:
        asyncio.run(scenario())
        outbox_deliver(connection_id=bosphorus_receives.pk)
        received = [(c.request.method, c.request.url, c.request.body) for c in receiver.calls]

    assert answers["boot"].status == "Accepted"
    assert answers["boot"].interval == 300
    assert answers["authorize"] == "Accepted"
    assert answers["start"].id_tag_info["status"] == "Accepted"
    charger.refresh_from_db()
    assert (charger.vendor, charger.model, charger.firmware_version) == (
        "echargo-sim",
        "SIM-22",
        "2.0.7",
    )
    assert charger.last_boot_at is not None

    session = Session.objects.get()
    assert session.status == "COMPLETED"
    assert session.kwh == Decimal("10.0000")
    assert session.meter_start_wh == 1_000_000
    assert session.meter_stop_wh == 1_010_000
    assert session.token_uid == "04OURDRIVER01"
    assert session.auth_method == "WHITELIST"
    assert session.evse_uid == "E1"
    assert session.location_id == charger.location.location_id
    assert session.tariff_id == "AC-STANDARD"
    assert session.currency == "TRY"
    # 10 kWh at 0.25 TRY/kWh, 20 % VAT.
    assert session.total_cost_excl_vat == Decimal("2.5000")
    assert session.total_cost_incl_vat == Decimal("3.0000")
    assert session.start_date_time.isoformat() == "2026-03-02T10:00:00+00:00"
    assert session.end_date_time.isoformat() == "2026-03-02T10:40:00+00:00"
    energies = [
        Decimal(next(d["volume"] for d in p["dimensions"] if d["type"] == "ENERGY"))
        for p in session.charging_periods
    ]
    assert sum(energies) == Decimal("10.0000")
    assert session.charging_periods[0]["start_date_time"] == "2026-03-02T10:00:00Z"
    assert ChargerTransaction.objects.get().session == session

    assert EVSE.objects.get(uid="E1").status == "AVAILABLE"
    # Undelivered status patches of one EVSE merge into the latest (the outbox's rule): the
    # partner may hear fewer of them, but always in order and ending with the status now.
    assert received, "the partner's receiver got the EVSE status"
    assert {(method, url.split("/")[-1]) for method, url, _ in received} == {("PATCH", "E1")}
    assert json.loads(received[-1][2])["status"] == "AVAILABLE"
    assert not OutboxMessage.objects.filter(status="pending").exists()
    assert ChargerMessage.objects.filter(charger=charger, action="StartTransaction").exists()


def test_the_evse_shows_charging_to_partners_while_the_car_charges(
    central_system, charger, bosphorus_receives
):
    OutboxMessage.objects.all().delete()

    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot()
            await cp.status(1, "Charging")

    with partner_receiver():
        asyncio.run(scenario())
    assert EVSE.objects.get(uid="E1").status == "CHARGING"
    message = OutboxMessage.objects.get(connection=bosphorus_receives, module="locations")
    assert message.method == "PATCH"
    assert message.path.endswith("/E1")
    assert json.loads(message.body)["status"] == "CHARGING"
