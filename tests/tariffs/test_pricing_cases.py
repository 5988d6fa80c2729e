"""Every tariff-case CDR of tandemdrive/ocpi-tariffs is priced to its recorded totals.

The cases (tariff + CDRs) come from github.com/tandemdrive/ocpi-tariffs, folder
ocpi-tariffs/test_data at commit a9e82de (MIT/Apache-2.0). They are embedded below, without
`last_updated` and the CDR fields the engine does not read, so that the suite keeps its own
fixtures; `test_embedded_cases_match_the_shared_reference_data` checks them against the copy in
/work/shared/ocpi/tariff-cases when that directory exists.

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

SHARED = Path("/work/shared/ocpi")
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

TARIFFS = {
    "025kwh_min_price": """
        {"country_code": "DE", "party_id": "ALL", "id": "20", "currency": "EUR", "min_price":
        {"excl_vat": 0.5, "incl_vat": 0.55}, "elements": [{"price_components": [{"type":
        "ENERGY", "price": 0.25, "vat": 10.0, "step_size": 1}]}]}
    """,
    "025kwh_start": """
        {"country_code": "DE", "party_id": "ALL", "id": "17", "currency": "EUR", "elements":
        [{"price_components": [{"type": "FLAT", "price": 0.5, "vat": 20.0, "step_size": 1},
        {"type": "ENERGY", "price": 0.25, "vat": 10.0, "step_size": 1}]}]}
    """,
    "grace_period_parking_time": """
        {"id": "foo", "currency": "EUR", "elements": [{"price_components": [{"type":
        "PARKING_TIME", "price": 0.0, "vat": 0.0, "step_size": 1}], "restrictions":
        {"min_duration": 0, "max_duration": 1800}}, {"price_components": [{"type":
        "PARKING_TIME", "price": 3.0, "vat": 0.0, "step_size": 1}], "restrictions":
        {"min_duration": 1800}}, {"price_components": [{"type": "ENERGY", "price": 0.25, "vat":
        10.0, "step_size": 1}]}], "end_date_time": "2019-06-30T23:59:59Z"}
    """,
    "multiple_flat_fees": """
        {"country_code": "DE", "party_id": "ALL", "id": "12", "currency": "EUR", "elements":
        [{"price_components": [{"type": "FLAT", "price": 1.0, "vat": 0.0, "step_size": 0}]}]}
    """,
    "simple_025kwh": """
        {"country_code": "DE", "party_id": "ALL", "id": "16", "currency": "EUR", "elements":
        [{"price_components": [{"type": "ENERGY", "price": 0.25, "vat": 10.0, "step_size":
        1}]}]}
    """,
    "simple_3hour_5parking": """
        {"country_code": "DE", "party_id": "ALL", "id": "21", "currency": "EUR", "elements":
        [{"price_components": [{"type": "TIME", "price": 3.0, "vat": 10.0, "step_size": 60},
        {"type": "PARKING_TIME", "price": 5.0, "vat": 20.0, "step_size": 300}]}]}
    """,
    "step_size": """
        {"country_code": "DE", "party_id": "ALL", "id": "22", "currency": "EUR", "elements":
        [{"price_components": [{"type": "TIME", "price": 1.2, "step_size": 1800}, {"type":
        "PARKING_TIME", "price": 1.0, "step_size": 900}], "restrictions": {"start_time":
        "00:00", "end_time": "17:00"}}, {"price_components": [{"type": "TIME", "price": 2.4,
        "step_size": 900}, {"type": "PARKING_TIME", "price": 1.0, "step_size": 900}],
        "restrictions": {"start_time": "17:00", "end_time": "20:00"}}, {"price_components":
        [{"type": "TIME", "price": 2.4, "step_size": 900}], "restrictions": {"start_time":
        "20:00", "end_time": "00:00"}}]}
    """,
    "step_size_energy": """
        {"country_code": "DE", "party_id": "ALL", "id": "22", "currency": "EUR", "elements":
        [{"price_components": [{"type": "ENERGY", "price": 2, "step_size": 8000}],
        "restrictions": {"start_time": "00:00", "end_time": "17:00"}}, {"price_components":
        [{"type": "ENERGY", "price": 2, "step_size": 5000}], "restrictions": {"start_time":
        "17:00", "end_time": "20:00"}}, {"price_components": [{"type": "ENERGY", "price": 4,
        "step_size": 2000}], "restrictions": {"start_time": "20:00", "end_time": "00:00"}}]}
    """,
}
CDRS = {
    "025kwh_min_price/cdr1.json": """
        {"start_date_time": "2022-01-13T14:30:00Z", "end_date_time": "2022-01-13T15:30:00Z",
        "charging_periods": [{"start_date_time": "2022-01-13T14:30:00Z", "dimensions": [{"type":
        "ENERGY", "volume": 20}]}], "total_cost": {"excl_vat": 5.0, "incl_vat": 5.5},
        "total_energy": 20, "total_energy_cost": {"excl_vat": 5.0, "incl_vat": 5.5},
        "total_time": 1}
    """,
    "025kwh_min_price/cdr2_less_than_2kWh.json": """
        {"start_date_time": "2022-01-13T14:30:00Z", "end_date_time": "2022-01-13T15:30:00Z",
        "charging_periods": [{"start_date_time": "2022-01-13T14:30:00Z", "dimensions": [{"type":
        "ENERGY", "volume": 1.2}]}], "total_cost": {"excl_vat": 0.3, "incl_vat": 0.33},
        "total_energy": 1.2, "total_energy_cost": {"excl_vat": 0.3, "incl_vat": 0.33},
        "total_time": 1}
    """,
    "025kwh_start/cdr1.json": """
        {"start_date_time": "2022-01-13T14:30:00Z", "end_date_time": "2022-01-13T15:30:00Z",
        "charging_periods": [{"start_date_time": "2022-01-13T14:30:00Z", "dimensions": [{"type":
        "ENERGY", "volume": 20}]}], "total_cost": {"excl_vat": 5.5, "incl_vat": 6.1},
        "total_fixed_cost": {"excl_vat": 0.5, "incl_vat": 0.6}, "total_energy": 20,
        "total_energy_cost": {"excl_vat": 5, "incl_vat": 5.5}, "total_time": 1}
    """,
    "grace_period_parking_time/cdr.json": """
        {"start_date_time": "2015-06-29T15:00:00Z", "end_date_time": "2015-06-29T16:15:00Z",
        "charging_periods": [{"start_date_time": "2015-06-29T15:00:00Z", "dimensions": [{"type":
        "PARKING_TIME", "volume": 0.5}]}, {"start_date_time": "2015-06-29T15:30:00Z",
        "dimensions": [{"type": "PARKING_TIME", "volume": 0.25}]}, {"start_date_time":
        "2015-06-29T15:45:00Z", "dimensions": [{"type": "ENERGY", "volume": 10}]}],
        "total_cost": {"excl_vat": 3.25, "incl_vat": 3.5}, "total_energy": 10,
        "total_energy_cost": {"excl_vat": 2.5, "incl_vat": 2.75}, "total_time": 1.25,
        "total_parking_time": 0.75, "total_parking_cost": {"excl_vat": 0.75, "incl_vat": 0.75}}
    """,
    "multiple_flat_fees/cdr.json": """
        {"start_date_time": "2015-06-29T15:00:00Z", "end_date_time": "2015-06-29T16:30:00Z",
        "charging_periods": [{"start_date_time": "2015-06-29T15:00:00Z", "dimensions": [{"type":
        "TIME", "volume": 0.5}]}, {"start_date_time": "2015-06-29T15:30:00Z", "dimensions":
        [{"type": "TIME", "volume": 0.5}]}, {"start_date_time": "2015-06-29T16:00:00Z",
        "dimensions": [{"type": "TIME", "volume": 0.5}]}], "total_cost": {"excl_vat": 1.0,
        "incl_vat": 1.0}, "total_fixed_cost": {"excl_vat": 1.0, "incl_vat": 1.0},
        "total_energy": 0, "total_time": 1.5, "total_parking_time": 0}
    """,
    "simple_025kwh/cdr1.json": """
        {"start_date_time": "2022-01-13T14:30:00Z", "end_date_time": "2022-01-13T15:30:00Z",
        "charging_periods": [{"start_date_time": "2022-01-13T14:30:00Z", "dimensions": [{"type":
        "ENERGY", "volume": 20}]}], "total_cost": {"excl_vat": 5.0, "incl_vat": 5.5},
        "total_energy": 20, "total_energy_cost": {"excl_vat": 5.0, "incl_vat": 5.5},
        "total_time": 1}
    """,
    "simple_3hour_5parking/cdr1.json": """
        {"start_date_time": "2022-01-13T16:00:00Z", "end_date_time": "2022-01-13T19:12:00Z",
        "charging_periods": [{"start_date_time": "2022-01-13T16:00:00Z", "dimensions": [{"type":
        "TIME", "volume": 2.5}]}, {"start_date_time": "2022-01-13T18:30:00Z", "dimensions":
        [{"type": "PARKING_TIME", "volume": 0.7}]}], "total_cost": {"excl_vat": 11.25,
        "incl_vat": 12.75}, "total_energy": 0, "total_time": 3.2, "total_time_cost":
        {"excl_vat": 7.5, "incl_vat": 8.25}, "total_parking_time": 0.7, "total_parking_cost":
        {"excl_vat": 3.75, "incl_vat": 4.5}}
    """,
    "step_size/cdr1.json": """
        {"start_date_time": "2022-01-13T16:55:00Z", "end_date_time": "2022-01-13T17:07:00Z",
        "charging_periods": [{"start_date_time": "2022-01-13T16:55:00Z", "dimensions": [{"type":
        "TIME", "volume": 0.0834}]}, {"start_date_time": "2022-01-13T17:00:00Z", "dimensions":
        [{"type": "TIME", "volume": 0.0834}]}, {"start_date_time": "2022-01-13T17:02:00Z",
        "dimensions": [{"type": "PARKING_TIME", "volume": 0.0334}]}], "total_cost": {"excl_vat":
        0.5502, "incl_vat": 0.5502}, "total_energy": 0, "total_time": 0.2, "total_time_cost":
        {"excl_vat": 0.3002, "incl_vat": 0.3002}, "total_parking_time": 0.0334,
        "total_parking_cost": {"excl_vat": 0.25, "incl_vat": 0.25}}
    """,
    "step_size_energy/cdr1.json": """
        {"start_date_time": "2022-01-13T16:55:00Z", "end_date_time": "2022-01-13T17:07:00Z",
        "charging_periods": [{"start_date_time": "2022-01-13T16:55:00Z", "dimensions": [{"type":
        "ENERGY", "volume": 5}]}, {"start_date_time": "2022-01-13T17:00:00Z", "dimensions":
        [{"type": "ENERGY", "volume": 2}]}, {"start_date_time": "2022-01-13T17:02:00Z",
        "dimensions": [{"type": "ENERGY", "volume": 5}]}], "total_cost": {"excl_vat": 30,
        "incl_vat": 30}, "total_energy": 12, "total_energy_cost": {"excl_vat": 30, "incl_vat":
        30}, "total_time": 0.2}
    """,
}

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


def price_cdr(case: str) -> tuple[dict[str, Any], Any]:
    cdr = load(CDRS[case])
    result = price_periods(
        tariff=load(TARIFFS[case.split("/")[0]]),
        periods=cdr["charging_periods"],
        end_date_time=datetime.fromisoformat(cdr["end_date_time"]),
        time_zone="UTC",
    )
    return cdr, result


@pytest.mark.parametrize("case", sorted(CDRS))
def test_tariff_case_cdr_costs_are_reproduced_to_four_decimals(case: str) -> None:
    cdr, result = price_cdr(case)
    expected = {field: four_decimals(cdr[field]) for field in COST_FIELDS if field in cdr}
    expected |= {
        field: four_decimals(price) for field, price in SPEC_OVERRIDES.get(case, {}).items()
    }
    assert {field: getattr(result, field) for field in expected} == expected


@pytest.mark.parametrize("case", sorted(CDRS))
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


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared OCPI reference data on this machine")
@pytest.mark.parametrize("case", sorted(CDRS))
def test_embedded_cases_match_the_shared_reference_data(case: str) -> None:
    directory = case.split("/")[0]
    shared_tariff = load((SHARED / "tariff-cases" / directory / "tariff.json").read_text())
    shared_cdr = load((SHARED / "tariff-cases" / case).read_text())
    shared_tariff.pop("last_updated", None)
    embedded_cdr = load(CDRS[case])
    assert load(TARIFFS[directory]) == shared_tariff
    assert {key: shared_cdr.get(key) for key in embedded_cdr} == embedded_cdr


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared OCPI reference data on this machine")
def test_every_reference_and_official_example_tariff_compiles() -> None:
    paths = sorted(SHARED.glob("tariff-cases/*/tariff.json"))
    paths += sorted(SHARED.glob("examples-2.2.1/tariff*.json"))
    assert len(paths) > 40
    for path in paths:
        compiled = compile_tariff(load(path.read_text()))
        assert compiled.elements, path
