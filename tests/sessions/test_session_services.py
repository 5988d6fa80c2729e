"""Sessions from plain charger facts (no OCPP here): energy from the register, periods at
charging/parking changes, total_cost by the tariff in force at start, history kept."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.sessions.models import Session
from apps.sessions.services import (
    CdrTokenInfo,
    MeterReading,
    session_charging_state_set,
    session_meter_values,
    session_start_from_charger,
    session_stop_from_charger,
)
from apps.tariffs.services import tariff_upsert_own
from tests.factories.locations import EVSEData, own_location
from tests.factories.tariffs import PriceComponentData, TariffElementData, own_tariff

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
DRIVER = CdrTokenInfo(
    country_code="TR", party_id="ECH", uid="04AB", type="RFID", contract_id="TR-ECH-C1"
)


@pytest.fixture
def cpo(our_parties):
    return next(p for p in our_parties if p.role == "CPO")


@pytest.fixture
def station(cpo):
    return own_location(cpo, evses=[EVSEData(uid="E1")])


def start(cpo, station, **kwargs):
    evse = station.evses.get()
    return session_start_from_charger(
        owner=cpo,
        location=station,
        evse=evse,
        connector=evse.connectors.get(),
        started_at=kwargs.pop("started_at", T0),
        meter_start_wh=Decimal(1000),
        cdr_token=DRIVER,
        **kwargs,
    )


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_energy_is_the_newest_register_minus_the_start_and_late_readings_count_once(cpo, station):
    own_tariff(cpo, id="AC-STANDARD")
    session = start(cpo, station)
    session_meter_values(session=session, readings=[MeterReading(at(10), Decimal(3000))])
    session_meter_values(session=session, readings=[MeterReading(at(20), Decimal(5000))])
    # Replayed late from the charger's buffer, and repeated: nothing changes.
    session_meter_values(session=session, readings=[MeterReading(at(15), Decimal(4000))])
    session_meter_values(session=session, readings=[MeterReading(at(20), Decimal(5000))])
    session.refresh_from_db()
    assert session.kwh == Decimal("4.0000")
    assert session.total_cost_excl_vat == Decimal("1.0000")  # 4 kWh x 0.25
    assert not session.needs_review


def test_total_cost_keeps_the_tariff_in_force_at_start(cpo, station):
    own_tariff(cpo, id="AC-STANDARD")
    session = start(cpo, station)
    # Staff double the price during the session: this session keeps the old one.
    tariff_upsert_own(
        data={
            "id": "AC-STANDARD",
            "currency": "TRY",
            "elements": [
                TariffElementData(price_components=[PriceComponentData(price=Decimal("0.50"))])
            ],
        },
        owner=cpo,
        reason="price change",
    )
    session_stop_from_charger(session=session, stopped_at=at(60), meter_stop_wh=Decimal(11000))
    session.refresh_from_db()
    assert session.total_cost_excl_vat == Decimal("2.5000")
    assert session.total_cost_incl_vat == Decimal("3.0000")
    assert session.status == "COMPLETED"


def test_parking_time_is_billed_only_after_the_car_stops_requesting_power(cpo, station):
    own_tariff(
        cpo,
        id="AC-STANDARD",
        elements=[
            TariffElementData(
                price_components=[PriceComponentData(type="PARKING_TIME", price=Decimal("6"))]
            )
        ],
    )
    session = start(cpo, station)
    session_meter_values(session=session, readings=[MeterReading(at(10), Decimal(9000))])
    session_charging_state_set(session=session, state="parking", at=at(10))
    session_stop_from_charger(session=session, stopped_at=at(40), meter_stop_wh=Decimal(9000))
    session.refresh_from_db()
    # 30 min parked at 6 TRY/h (the 10 min of charging are free here).
    assert session.total_cost_excl_vat == Decimal("3.0000")
    assert [p["start_date_time"] for p in session.charging_periods] == [
        "2026-03-02T10:00:00Z",
        "2026-03-02T10:10:00Z",
    ]


def test_a_stop_repeated_with_the_same_facts_changes_nothing_and_other_facts_are_flagged(
    cpo, station
):
    own_tariff(cpo, id="AC-STANDARD")
    session = start(cpo, station)
    session_stop_from_charger(session=session, stopped_at=at(30), meter_stop_wh=Decimal(5000))
    history = Session.history.count()
    session_stop_from_charger(session=session, stopped_at=at(30), meter_stop_wh=Decimal(5000))
    assert Session.history.count() == history
    session_stop_from_charger(session=session, stopped_at=at(45), meter_stop_wh=Decimal(9000))
    session.refresh_from_db()
    assert session.kwh == Decimal("4.0000")
    assert session.needs_review


def test_a_refused_token_makes_an_invalid_session(cpo, station):
    session = start(cpo, station, allowed=False)
    assert session.status == "INVALID"
    assert session.needs_review
    assert session.total_cost_excl_vat is None  # no tariff on this connector: no cost known
    assert session.currency == "TRY"


def test_history_keeps_the_start_and_the_stop_not_every_reading(cpo, station):
    # Priced, so that the stop's CDR is made (without a tariff it would be flagged for staff).
    own_tariff(cpo, id="AC-STANDARD")
    session = start(cpo, station)
    for minute in range(1, 6):
        session_meter_values(
            session=session, readings=[MeterReading(at(minute), Decimal(1000 + minute * 100))]
        )
    session_stop_from_charger(session=session, stopped_at=at(6), meter_stop_wh=Decimal(1600))
    reasons = list(
        session.history.order_by("history_date").values_list("history_change_reason", flat=True)
    )
    assert reasons == ["Started at the charger", "Stopped at the charger (no reason given)"]
