"""Every tariff-case CDR of tandemdrive/ocpi-tariffs is priced to its recorded totals.

The cases (tariff + CDRs) come from github.com/tandemdrive/ocpi-tariffs, folder
ocpi-tariffs/test_data at commit a9e82de (MIT/Apache-2.0), copied unchanged into
tests/data/tariff-cases (tests/data/README.md).

The reference harness (ocpi-tariffs/tests/integration.rs) prices every CDR with
`with_time_zone(Tz::UTC)`, whatever `cdr_location.country` says, and step_size/cdr1.json only
adds up in UTC: in Europe/Amsterdam both charging periods fall in the 17:00-20:00 element and
charging time would cost 0.4003, not 0.3002. So these CDRs are priced in UTC too.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from apps.tariffs.pricing import Price, compile_tariff, price_periods
from tests.conftest import OCPI_EXAMPLES, TEST_DATA

TARIFF_CASES = TEST_DATA / "tariff-cases"
COST_FIELDS = (
    "total_cost",
    "total_fixed_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_reservation_cost",
)
VOLUME_FIELDS = ("total_energy", "total_time", "total_parking_time")
FOUR_DECIMALS = Decimal("0.0001")

# The cases we price (the others' CDRs need features the engine leaves to other modules).
CASES = [
    "025kwh_min_price/cdr1.json",
    "025kwh_min_price/cdr2_less_than_2kWh.json",
    "025kwh_start/cdr1.json",
    "grace_period_parking_time/cdr.json",
    "multiple_flat_fees/cdr.json",
    "simple_025kwh/cdr1.json",
    "simple_3hour_5parking/cdr1.json",
    "step_size/cdr1.json",
    "step_size_energy/cdr1.json",
]

# Where a recorded CDR contradicts OCPI 2.2.1, the spec wins: {case: {field: (excl, incl)}}.
SPEC_OVERRIDES = {
    "025kwh_min_price/cdr2_less_than_2kWh.json": {
        # The tariff's min_price is 0.50/0.55 ("a Charging Session with this tariff will at
        # least cost this amount", mod_tariffs Tariff.min_price; DIGEST test vector #3), but the
        # CDR records the plain 1.2 kWh x 0.25 = 0.30/0.33: the reference pricer at a9e82de does
        # not implement min_price/max_price. The recorded value is our subtotal.
        "total_cost": ("0.50", "0.55"),
    },
}


def load(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def four_decimals(price: dict[str, Any] | tuple[str, str]) -> Price:
    excl, incl = (price["excl_vat"], price["incl_vat"]) if isinstance(price, dict) else price
    return Price(Decimal(excl).quantize(FOUR_DECIMALS), Decimal(incl).quantize(FOUR_DECIMALS))


def read(path: Path) -> Any:
    return load(path.read_text())


def price_cdr(case: str) -> tuple[dict[str, Any], Any]:
    cdr = read(TARIFF_CASES / case)
    result = price_periods(
        tariff=read(TARIFF_CASES / case.split("/")[0] / "tariff.json"),
        periods=cdr["charging_periods"],
        end_date_time=datetime.fromisoformat(cdr["end_date_time"]),
        time_zone="UTC",
    )
    return cdr, result


@pytest.mark.parametrize("case", CASES)
def test_tariff_case_cdr_costs_are_reproduced_to_four_decimals(case: str) -> None:
    cdr, result = price_cdr(case)
    expected = {field: four_decimals(cdr[field]) for field in COST_FIELDS if field in cdr}
    expected |= {
        field: four_decimals(price) for field, price in SPEC_OVERRIDES.get(case, {}).items()
    }
    assert {field: getattr(result, field) for field in expected} == expected


@pytest.mark.parametrize("case", CASES)
def test_tariff_case_cdr_volumes_are_reproduced_to_four_decimals(case: str) -> None:
    cdr, result = price_cdr(case)
    expected = {
        field: Decimal(cdr[field]).quantize(FOUR_DECIMALS)
        for field in VOLUME_FIELDS
        if field in cdr
    }
    assert {field: getattr(result, field) for field in expected} == expected


def test_min_price_case_records_the_subtotal_before_the_minimum() -> None:
    cdr, result = price_cdr("025kwh_min_price/cdr2_less_than_2kWh.json")
    assert result.subtotal == four_decimals(cdr["total_cost"])
    assert result.total_cost == Price(Decimal("0.5000"), Decimal("0.5500"))


def test_every_reference_and_official_example_tariff_compiles() -> None:
    paths = sorted(TARIFF_CASES.glob("*/tariff.json"))
    paths += sorted(OCPI_EXAMPLES.glob("tariff*.json"))
    assert len(paths) > 40
    for path in paths:
        compiled = compile_tariff(read(path))
        assert compiled.elements, path
