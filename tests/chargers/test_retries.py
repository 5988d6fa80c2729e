"""What real chargers get wrong: retried Start/StopTransaction, a stop for a transaction we never
saw, clock-aligned readings without an energy register, a meter going backwards, parking."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from apps.audit.models import AuditEvent
from apps.chargers.models import ChargerMessage, ChargerTransaction
from apps.chargers.simulator import connected
from apps.sessions.models import Session
from tests.factories.chargers import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
TAG = "04OURDRIVER01"


def run(central_system, steps):
    async def scenario():
        async with connected(central_system.url, "CP-ISTIKLAL-1", PASSWORD) as cp:
            await cp.boot()
            return await steps(cp)

    return asyncio.run(scenario())


def test_a_retried_start_and_stop_are_answered_the_same_and_counted_once(
    central_system, charger, driver_token
):
    async def steps(cp):
        cp.meter.energy_wh = 5000
        first = await cp.start_transaction(1, TAG, timestamp="2026-03-02T10:00:00Z")
        again = await cp.start_transaction(1, TAG, timestamp="2026-03-02T10:00:00Z")
        cp.meter.energy_wh = 12000
        stop = await cp.stop_transaction(first.transaction_id, timestamp="2026-03-02T11:00:00Z")
        stop_again = await cp.stop_transaction(
            first.transaction_id, timestamp="2026-03-02T11:00:00Z"
        )
        return first, again, stop, stop_again

    first, again, stop, stop_again = run(central_system, steps)
    assert again.transaction_id == first.transaction_id
    assert again.id_tag_info == first.id_tag_info
    assert stop_again.id_tag_info == stop.id_tag_info
    assert ChargerTransaction.objects.count() == 1
    session = Session.objects.get()
    assert session.kwh == Decimal("7.0000")
    assert session.status == "COMPLETED"
    assert not session.needs_review


def test_a_stop_for_an_unknown_transaction_is_accepted_and_flagged_for_staff(
    central_system, charger
):
    async def steps(cp):
        return await cp.stop_transaction(424242, timestamp="2026-03-02T11:00:00Z")

    answer = run(central_system, steps)
    assert answer is not None  # a CallResult, not a CallError
    flagged = ChargerMessage.objects.get(
        charger=charger, action="StopTransaction", kind="violation"
    )
    assert flagged.needs_review
    assert "unknown transaction 424242" in flagged.note
    assert AuditEvent.objects.filter(verb="charger.unknown_transaction").exists()


def test_clock_aligned_values_without_energy_register_never_reset_the_energy(
    central_system, charger, driver_token
):
    async def steps(cp):
        cp.meter.energy_wh = 100_000
        tx = (await cp.start_transaction(1, TAG, timestamp="2026-03-02T10:00:00Z")).transaction_id
        cp.meter.energy_wh = 104_000
        await cp.meter_values(1, tx, power_w=11000, timestamp="2026-03-02T10:20:00Z")
        await cp.meter_values(
            1,
            None,
            power_w=0,
            energy=False,
            context="Sample.Clock",
            timestamp="2026-03-02T10:30:00Z",
        )
        return tx

    run(central_system, steps)
    session = Session.objects.get()
    assert session.kwh == Decimal("4.0000")
    assert session.meter_last_wh == 104_000


def test_a_meter_going_backwards_is_flagged_and_not_summed(central_system, charger, driver_token):
    async def steps(cp):
        cp.meter.energy_wh = 100_000
        tx = (await cp.start_transaction(1, TAG, timestamp="2026-03-02T10:00:00Z")).transaction_id
        cp.meter.energy_wh = 103_000
        await cp.meter_values(1, tx, power_w=11000, timestamp="2026-03-02T10:10:00Z")
        cp.meter.energy_wh = 2_000  # a meter swapped or reset mid-session
        await cp.meter_values(1, tx, power_w=11000, timestamp="2026-03-02T10:20:00Z")
        cp.meter.energy_wh = 105_000
        await cp.meter_values(1, tx, power_w=11000, timestamp="2026-03-02T10:30:00Z")

    run(central_system, steps)
    session = Session.objects.get()
    assert session.kwh == Decimal("5.0000")
    assert session.needs_review
    assert "backwards" in session.flags[0]["note"]


def test_suspended_ev_starts_a_parking_period(central_system, charger, driver_token):
    from ocpp.v16 import call

    async def steps(cp):
        cp.meter.energy_wh = 0
        tx = (await cp.start_transaction(1, TAG, timestamp="2026-03-02T10:00:00Z")).transaction_id
        await cp.call(
            call.StatusNotification(
                connector_id=1,
                error_code="NoError",
                status="Charging",
                timestamp="2026-03-02T10:00:01Z",
            )
        )
        cp.meter.energy_wh = 8000
        await cp.meter_values(1, tx, power_w=0, timestamp="2026-03-02T10:30:00Z")
        await cp.call(
            call.StatusNotification(
                connector_id=1,
                error_code="NoError",
                status="SuspendedEV",
                timestamp="2026-03-02T10:30:00Z",
            )
        )
        await cp.stop_transaction(tx, timestamp="2026-03-02T11:30:00Z")

    run(central_system, steps)
    session = Session.objects.get()
    kinds = [[d["type"] for d in p["dimensions"]] for p in session.charging_periods]
    assert kinds == [["ENERGY", "TIME"], ["ENERGY", "PARKING_TIME"]]
    parking = session.charging_periods[1]
    assert parking["start_date_time"] == "2026-03-02T10:30:00Z"
    assert {d["type"]: d["volume"] for d in parking["dimensions"]}["PARKING_TIME"] == "1.0000"
    assert session.kwh == Decimal("8.0000")
