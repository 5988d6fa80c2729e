"""CDRs valid on the OCPI 2.2.1 wire by default, and completed sessions that make ours."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import factory

from apps.partners.models import Party
from apps.sessions.models import Session
from apps.sessions.services import (
    CdrTokenInfo,
    MeterReading,
    session_charging_state_set,
    session_meter_values,
    session_start_from_charger,
    session_stop_from_charger,
)
from apps.tokens.models import Token

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def _price(excl: str, incl: str) -> dict[str, Decimal]:
    return {"excl_vat": Decimal(excl), "incl_vat": Decimal(incl)}


class CdrTokenData(factory.DictFactory):
    country_code = "TR"
    party_id = "ECH"
    uid = "04AB"
    type = "RFID"
    contract_id = "TR-ECH-C1"


class CdrLocationData(factory.DictFactory):
    id = "LOC-1"
    name = "Kadıköy Pier"
    address = "Rıhtım Cd. 1"
    city = "İstanbul"
    postal_code = "34710"
    country = "TUR"
    coordinates = factory.Dict({"latitude": "40.99000", "longitude": "29.02000"})
    evse_uid = "E1"
    evse_id = "TR*HBA*E1"
    connector_id = "1"
    connector_standard = "IEC_62196_T2"
    connector_format = "SOCKET"
    connector_power_type = "AC_3_PHASE"


class CdrData(factory.DictFactory):
    """An OCPI CDR from partner CPO DE*HBA: 4 kWh at 0.25 + 1 h at 1.00, 20 % VAT."""

    country_code = "DE"
    party_id = "HBA"
    id = factory.Sequence(lambda n: f"CDR-{n:05d}")
    start_date_time = "2026-03-02T10:00:00Z"
    end_date_time = "2026-03-02T11:00:00Z"
    session_id = factory.Sequence(lambda n: f"S-{n:05d}")
    cdr_token = factory.SubFactory(CdrTokenData)
    auth_method = "WHITELIST"
    cdr_location = factory.SubFactory(CdrLocationData)
    currency = "EUR"
    charging_periods = factory.LazyFunction(
        lambda: [
            {
                "start_date_time": "2026-03-02T10:00:00Z",
                "dimensions": [
                    {"type": "ENERGY", "volume": Decimal("4")},
                    {"type": "TIME", "volume": Decimal("1")},
                ],
                "tariff_id": "T1",
            }
        ]
    )
    total_cost = factory.LazyFunction(lambda: _price("2.0000", "2.4000"))
    total_energy = Decimal("4")
    total_energy_cost = factory.LazyFunction(lambda: _price("1.0000", "1.2000"))
    total_time = Decimal("1")
    total_time_cost = factory.LazyFunction(lambda: _price("1.0000", "1.2000"))
    last_updated = "2026-03-02T11:00:05Z"


def completed_session(
    cpo: Party,
    location: Any,
    *,
    token: Token | None = None,
    kwh: int = 4,
    minutes: int = 60,
    parking_minutes: int = 0,
) -> Session:
    """A session on our `location` that charged `kwh` in `minutes`, then parked, then stopped."""
    evse = location.evses.order_by("pk").first()
    info = (
        CdrTokenInfo(
            country_code=token.country_code,
            party_id=token.party_id,
            uid=token.uid,
            type=token.type,
            contract_id=token.contract_id,
            token=token,
        )
        if token is not None
        else CdrTokenInfo(
            country_code=cpo.country_code,
            party_id=cpo.party_id,
            uid="04AB",
            type="RFID",
            contract_id="TR-ECH-C1",
        )
    )
    session = session_start_from_charger(
        owner=cpo,
        location=location,
        evse=evse,
        connector=evse.connectors.order_by("pk").first(),
        started_at=T0,
        meter_start_wh=Decimal(1000),
        cdr_token=info,
    )
    end_charging = T0 + dt.timedelta(minutes=minutes)
    final_wh = Decimal(1000 + kwh * 1000)
    session = session_meter_values(session=session, readings=[MeterReading(end_charging, final_wh)])
    stop_at = end_charging
    if parking_minutes:
        session = session_charging_state_set(session=session, state="parking", at=end_charging)
        stop_at = end_charging + dt.timedelta(minutes=parking_minutes)
    return session_stop_from_charger(
        session=session, stopped_at=stop_at, meter_stop_wh=final_wh, reason="EVDisconnected"
    )
