"""Throughput of the tariff pricing engine: session pricings per second on one core.

Prices a 10-period session with a pre-compiled 4-element tariff and prints the median rate of 5
timed runs (time.perf_counter). Target: >= 20,000 pricings/s.

The session: a Tuesday in Europe/Amsterdam, charging from 16:50 (weekday peak energy and a start
fee), a time fee from 18:50 (two hours in), parking from 19:30, free after 20:00, leaving at
20:10. The headline figure uses its periods as a CPO must report them (mod_cdrs: a new
ChargingPeriod wherever another price component becomes active). Two more figures:

- the same session in 10 equal periods of 20 minutes, which the engine has to cut at 20:00;
- the CDR session moved to another day for every pricing: the cost of a first pricing on a day
  (the engine caches local-time calendars per day).

    .venv/bin/python bench/bench_pricing.py [--seconds-per-run 1.0]
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
ZONE = "Europe/Amsterdam"

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
CHARGING_MINUTES, SESSION_MINUTES = 160, 200
CDR_STARTS = (0, 20, 40, 60, 80, 100, 120, 140, 160, 190)  # minutes after 16:50
EVEN_STARTS = tuple(range(0, SESSION_MINUTES, 20))


def session(
    starts: tuple[int, ...] = CDR_STARTS, weeks_later: int = 0
) -> tuple[list[ChargingPeriodInput], datetime]:
    """Return the periods starting `starts` minutes after 16:50, and the session end."""
    begin = datetime(2024, 1, 9, 15, 50, tzinfo=UTC) + timedelta(weeks=weeks_later)
    energy_per_minute = Decimal("0.1756")  # 10.5 kW
    periods = []
    for start, end in zip(starts, (*starts[1:], SESSION_MINUTES), strict=True):
        charging = max(0, min(end, CHARGING_MINUTES) - start)
        parked = end - start - charging
        dimensions = {}
        if charging:
            dimensions = {
                "ENERGY": energy_per_minute * charging,
                "TIME": Decimal(charging) / 60,
                "MAX_POWER": Decimal("10.5"),
            }
        if parked:
            dimensions["PARKING_TIME"] = Decimal(parked) / 60
        periods.append(
            ChargingPeriodInput(
                start_date_time=begin + timedelta(minutes=start), dimensions=dimensions
            )
        )
    return periods, begin + timedelta(minutes=SESSION_MINUTES)


def rates(price: Callable[[int], PricingResult], batch: int) -> list[float]:
    """Return the pricings/s of RUNS runs of `batch` pricings (run i prices i*batch...)."""
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
        # One core: pin to one this process may run on.
        os.sched_setaffinity(0, {os.sched_getaffinity(0).pop()})

    tariff = compile_tariff(TARIFF)
    cdr_periods, end = session()
    even_periods, _ = session(EVEN_STARTS)

    def cdr(_: int) -> PricingResult:
        return price_periods(tariff=tariff, periods=cdr_periods, end_date_time=end, time_zone=ZONE)

    def even(_: int) -> PricingResult:
        return price_periods(tariff=tariff, periods=even_periods, end_date_time=end, time_zone=ZONE)

    result = cdr(0)
    if even(0).total_cost != result.total_cost:
        raise SystemExit("the engine's cuts changed the price of the session")
    print(result.describe(), end="\n\n")
    began = time.perf_counter()
    rates(cdr, 200)
    batch = max(1, int(200 * args.seconds_per_run / ((time.perf_counter() - began) / RUNS)))
    median = report("CDR session, split at price changes", rates(cdr, batch))
    report("10 equal periods, cut by the engine", rates(even, batch))

    # Build the moved sessions first: constructing periods is not part of pricing them.
    cold_batch = max(1, min(batch, 2000))
    moved = [session(weeks_later=number) for number in range(1, RUNS * cold_batch + 1)]

    def another_day(number: int) -> PricingResult:
        periods, moved_end = moved[number]
        return price_periods(
            tariff=tariff, periods=periods, end_date_time=moved_end, time_zone=ZONE
        )

    report("a new day for every pricing", rates(another_day, cold_batch))
    verdict = "meets" if median >= TARGET else "is BELOW"
    print(f"{median:,.0f} pricings/s on one core {verdict} the {TARGET:,} target")


if __name__ == "__main__":
    main()
