"""The simulator drives whole sessions through the central system: power curve, parking when
full, an outage whose buffered readings are replayed late with the charger's timestamps."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from django.core.management import call_command

from apps.chargers.models import Charger
from apps.chargers.simulator import connected, drive
from apps.sessions.models import Session
from tests.factories.chargers import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_driven_session_with_an_outage_is_complete_and_parks_when_the_car_is_full(
    central_system, charger, driver_token
):
    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            figures = await drive(
                cp,
                id_tags=["04OURDRIVER01"],
                sample_seconds=0.01,
                minutes_per_sample=1.0,
                offline_minutes=(10, 20),
            )
            return figures, cp.meter.energy_wh

    figures, meter_stop = asyncio.run(scenario())
    assert figures.sessions == 1
    assert figures.meter_values == 50
    session = Session.objects.get()
    assert session.status == "COMPLETED"
    assert session.kwh == (Decimal(meter_stop) - session.meter_start_wh) / 1000
    assert session.kwh > 10
    assert not session.needs_review
    kinds = {d["type"] for p in session.charging_periods for d in p["dimensions"]}
    assert "PARKING_TIME" in kinds
    # The charger's clock ran 50 simulated minutes: the session lasted that long, not the
    # fraction of a second the test took.
    assert (session.end_date_time - session.start_date_time).total_seconds() >= 49 * 60


def test_simulate_chargers_registers_and_drives_chargers(central_system, station, driver_token):
    call_command(
        "simulate_chargers",
        url=central_system.url,
        count=2,
        prefix="SIMT-",
        password="simulated-charger-password",
        setup=True,
        tags="04OURDRIVER01",
        sample_seconds=0.01,
    )
    assert set(Charger.objects.values_list("charge_point_id", flat=True)) == {
        "SIMT-0001",
        "SIMT-0002",
    }
    assert Session.objects.filter(status="COMPLETED").count() == 2
