"""OCPI 2.2.1 Session, CdrToken, ChargingPeriod and ChargingPreferences on the wire (mod_sessions,
mod_cdrs for CdrToken and ChargingPeriod), and the Session document rendered from our columns.

`SessionSerializer` validates what a CPO partner PUTs at our eMSP receiver (and what a pull
brings); `SessionPatchSerializer` the same fields, all optional but last_updated. Our own sessions
are rendered by `session_document` from the model: the same field names both ways.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from apps.tokens.models import ProfileType, TokenType
from echargo.ocpi.fields import (
    CiStringField,
    LastUpdatedField,
    OcpiDateTimeField,
    OcpiNumberField,
    OcpiStringField,
    format_ocpi_datetime,
)
from echargo.ocpi.wire import OcpiObjectSerializer, PriceSerializer, many, optional

from .models import AuthMethod, Session, SessionStatus

# OCPI 2.2.1 mod_cdrs CdrDimensionType.
CDR_DIMENSION_TYPES = (
    "CURRENT",
    "ENERGY",
    "ENERGY_EXPORT",
    "ENERGY_IMPORT",
    "MAX_CURRENT",
    "MIN_CURRENT",
    "MAX_POWER",
    "MIN_POWER",
    "PARKING_TIME",
    "POWER",
    "RESERVATION_TIME",
    "STATE_OF_CHARGE",
    "TIME",
)
CHARGING_PREFERENCES_RESPONSES = (
    "ACCEPTED",
    "DEPARTURE_REQUIRED",
    "ENERGY_NEED_REQUIRED",
    "NOT_POSSIBLE",
    "PROFILE_TYPE_NOT_SUPPORTED",
)


class CdrTokenSerializer(OcpiObjectSerializer):
    country_code = CiStringField(max_length=2, min_length=2)
    party_id = CiStringField(max_length=3, min_length=3)
    uid = CiStringField(max_length=36, min_length=1)
    type = serializers.ChoiceField(choices=TokenType.choices)
    contract_id = CiStringField(max_length=36, min_length=1)


class CdrDimensionSerializer(OcpiObjectSerializer):
    type = serializers.ChoiceField(choices=CDR_DIMENSION_TYPES)
    volume = OcpiNumberField()


class ChargingPeriodSerializer(OcpiObjectSerializer):
    start_date_time = OcpiDateTimeField()
    dimensions = serializers.ListField(child=CdrDimensionSerializer(), min_length=1)
    tariff_id = optional(CiStringField, 36)


class SessionSerializer(OcpiObjectSerializer):
    """A whole Session (PUT, pull)."""

    country_code = CiStringField(max_length=2, min_length=2)
    party_id = CiStringField(max_length=3, min_length=3)
    id = CiStringField(max_length=36, min_length=1)
    start_date_time = OcpiDateTimeField()
    end_date_time = optional(OcpiDateTimeField)
    kwh = OcpiNumberField(min_value=0)
    cdr_token = CdrTokenSerializer()
    auth_method = serializers.ChoiceField(choices=AuthMethod.choices)
    authorization_reference = optional(CiStringField, 36)
    location_id = CiStringField(max_length=36, min_length=1)
    evse_uid = CiStringField(max_length=36, min_length=1)
    connector_id = CiStringField(max_length=36, min_length=1)
    meter_id = optional(OcpiStringField, 255)
    currency = OcpiStringField(max_length=3, min_length=3)
    charging_periods = many(ChargingPeriodSerializer())
    total_cost = optional(PriceSerializer)
    status = serializers.ChoiceField(choices=SessionStatus.choices)
    last_updated = LastUpdatedField()


class SessionPatchSerializer(SessionSerializer):
    """A PATCH: any Session field but the identity, last_updated always (OCPI 2.2.1 transport)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for name, field in fields.items():
            if name != "last_updated":
                field.required = False
        return fields


class ChargingPreferencesSerializer(OcpiObjectSerializer):
    profile_type = serializers.ChoiceField(choices=ProfileType.choices)
    departure_time = optional(OcpiDateTimeField)
    energy_need = optional(OcpiNumberField, min_value=0)
    discharge_allowed = optional(serializers.BooleanField)


# Our columns a partner's Session sets (the rest are our own chargers' facts).
def session_columns(data: dict[str, Any]) -> dict[str, Any]:
    """Model column values from a validated (possibly partial) Session."""
    columns: dict[str, Any] = {}
    simple = (
        "start_date_time",
        "end_date_time",
        "kwh",
        "auth_method",
        "authorization_reference",
        "location_id",
        "evse_uid",
        "connector_id",
        "meter_id",
        "currency",
        "status",
        "last_updated",
    )
    for name in simple:
        if name in data:
            value = data[name]
            columns[name] = "" if value is None and name in _TEXT else value
    if "cdr_token" in data:
        token = data["cdr_token"]
        columns.update(
            token_country_code=token["country_code"],
            token_party_id=token["party_id"],
            token_uid=token["uid"],
            token_type=token["type"],
            token_contract_id=token["contract_id"],
        )
    if "total_cost" in data:
        price = data["total_cost"] or {}
        columns["total_cost_excl_vat"] = price.get("excl_vat")
        columns["total_cost_incl_vat"] = price.get("incl_vat")
    return columns


_TEXT = frozenset({"authorization_reference", "meter_id"})


def charging_periods_stored(periods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validated ChargingPeriods as we store them: datetimes as OCPI text, volumes exact."""
    stored = []
    for period in periods:
        item: dict[str, Any] = {
            "start_date_time": format_ocpi_datetime(period["start_date_time"]),
            "dimensions": [
                {"type": d["type"], "volume": str(d["volume"])} for d in period["dimensions"]
            ],
        }
        if period.get("tariff_id"):
            item["tariff_id"] = period["tariff_id"]
        stored.append(item)
    return stored


def _volume(text: Any) -> Decimal:
    return Decimal(str(text))


def session_document(session: Session) -> dict[str, Any]:
    """The OCPI Session of a row (ours or a partner's as we hold it); numbers are Decimal."""
    document: dict[str, Any] = {
        "country_code": session.country_code,
        "party_id": session.party_id,
        "id": session.session_id,
        "start_date_time": format_ocpi_datetime(session.start_date_time),
        "kwh": Decimal(session.kwh),
        "cdr_token": {
            "country_code": session.token_country_code,
            "party_id": session.token_party_id,
            "uid": session.token_uid,
            "type": session.token_type,
            "contract_id": session.token_contract_id,
        },
        "auth_method": session.auth_method,
        "location_id": session.location_id,
        "evse_uid": session.evse_uid,
        "connector_id": session.connector_id,
        "currency": session.currency,
        "charging_periods": [
            {
                **period,
                "dimensions": [
                    {"type": d["type"], "volume": _volume(d["volume"])}
                    for d in period["dimensions"]
                ],
            }
            for period in session.charging_periods
        ],
        "status": session.status,
        "last_updated": format_ocpi_datetime(session.last_updated),
    }
    if session.end_date_time is not None:
        document["end_date_time"] = format_ocpi_datetime(session.end_date_time)
    if session.authorization_reference:
        document["authorization_reference"] = session.authorization_reference
    if session.meter_id:
        document["meter_id"] = session.meter_id
    if session.total_cost_excl_vat is not None:
        cost: dict[str, Any] = {"excl_vat": Decimal(session.total_cost_excl_vat)}
        if session.total_cost_incl_vat is not None:
            cost["incl_vat"] = Decimal(session.total_cost_incl_vat)
        document["total_cost"] = cost
    return document
