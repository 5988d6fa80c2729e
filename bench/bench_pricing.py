"""Throughput of the tariff pricing engine: session pricings per second on one core.

Prices a 10-period session (a Tuesday 16:50-20:10 in Europe/Amsterdam: 8 charging periods, the
time fee starting after two hours, then 2 parking periods with daytime parking ending at 20:00
inside the last one) with a pre-compiled 4-element tariff, and prints the median rate of 5 timed
runs. Target: >= 20,000 pricings/s.

The headline figure prices the same session again and again, as a batch of CDRs of one day
would. A second figure moves the session to another day for every pricing, so that the engine's
per-day calendar cache never helps: the cost of a first pricing on a day.

    cd /work/main && .venv/bin/python bench/bench_pricing.py [--seconds-per-run 1.0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.tariffs.pricing import (
    ChargingPeriodInput,
    PricingResult,
    compile_tariff,
    price_periods,
)

TARGET = 20_000
RUNS = 5
WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
VAT = Decimal(21)

TARIFF = {
    "country_code": "NL",
    "party_id": "ECH",
    "id": "bench-4",
    "currency": "EUR",
    "elements": [
        {  # weekday peak: start fee and dearer energy
            "price_components": [
                {"type": "FLAT", "price": Decimal("0.35"), "vat": VAT, "step_size": 1},
                {"type": "ENERGY", "price": Decimal("0.39"), "vat": VAT, "step_size": 1},
            ],
            "restrictions": {"start_time": "07:00", "end_time": "23:00", "day_of_week": WEEKDAYS},
        },
        {  # off-peak energy
            "price_components": [
                {"type": "ENERGY", "price": Decimal("0.29"), "vat": VAT, "step_size": 1},
            ],
        },
        {  # charging time fee after two hours
            "price_components": [
                {"type": "TIME", "price": Decimal("1.20"), "vat": VAT, "step_size": 60},
            ],
            "restrictions": {"min_duration": 7200},
        },
        {  # daytime parking
            "price_components": [
                {"type": "PARKING_TIME", "price": Decimal("3.00"), "vat": VAT, "step_size": 300},
            ],
            "restrictions": {"start_time": "08:00", "end_time": "20:00"},
        },
    ],
    "last_updated": "2024-03-01T00:00:00Z",
}


def session(days_later: int = 0) -> tuple[list[ChargingPeriodInput], datetime]:
    """Return 10 periods of 20 minutes from 16:50 local: 8 charging, then 2 parking.

    The session is on a Tuesday, or `days_later` weekdays later.
    """
    weeks, days = divmod(days_later + 1, 5)
    start = datetime(2024, 1, 8, 15, 50, tzinfo=UTC) + timedelta(weeks=weeks, days=days)
    step = timedelta(minutes=20)
    third = Decimal(1) / 3
    periods = []
    for index in range(10):
        if index < 8:
            dimensions = {
                "ENERGY": Decimal("3.512"),
                "TIME": third,
                "MAX_POWER": Decimal(11),
                "MAX_CURRENT": Decimal(16),
            }
        else:
            dimensions = {"PARKING_TIME": third}
        periods.append(
            ChargingPeriodInput(start_date_time=start + index * step, dimensions=dimensions)
        )
    return periods, start + 10 * step


def rates(price: Callable[[int], PricingResult], batch: int) -> list[float]:
    """Return the pricings/s of RUNS runs of `batch` pricings; run i prices i*batch.. ."""
    measured = []
    for run in range(RUNS):
        began = time.perf_counter()
        for number in range(run * batch, (run + 1) * batch):
            price(number)
        measured.append(batch / (time.perf_counter() - began))
    return measured


def report(label: str, measured: list[float]) -> float:
    median = statistics.median(measured)
    runs = ", ".join(f"{rate:,.0f}" for rate in measured)
    print(f"{label}: median {median:,.0f} pricings/s (runs: {runs})")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds-per-run", type=float, default=1.0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        # One core: pin to the one this process started on.
        os.sched_setaffinity(0, {os.sched_getaffinity(0).pop()})

    tariff = compile_tariff(TARIFF)
    periods, end = session()

    def same_session(_: int) -> PricingResult:
        return price_periods(
            tariff=tariff, periods=periods, end_date_time=end, time_zone="Europe/Amsterdam"
        )

    result = same_session(0)
    print(result.describe(), end="\n\n")
    began = time.perf_counter()
    rates(same_session, 200)
    batch = max(1, int(200 * args.seconds_per_run / ((time.perf_counter() - began) / RUNS)))
    median = report("same session", rates(same_session, batch))

    # Build the moved sessions first: constructing periods is not part of pricing them.
    cold_batch = max(1, min(batch, 2000))
    moved = [session(days) for days in range(1, RUNS * cold_batch + 1)]

    def another_day(number: int) -> PricingResult:
        moved_periods, moved_end = moved[number]
        return price_periods(
            tariff=tariff,
            periods=moved_periods,
            end_date_time=moved_end,
            time_zone="Europe/Amsterdam",
        )

    report("a new day per pricing", rates(another_day, cold_batch))
    verdict = "meets" if median >= TARGET else "is BELOW"
    print(f"{median:,.0f} pricings/s on one core {verdict} the {TARGET:,} target")


if __name__ == "__main__":
    main()
