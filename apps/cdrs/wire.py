"""OCPI 2.2.1 CDR on the wire (mod_cdrs): CDR, CdrToken, CdrLocation, ChargingPeriod,
CdrDimension, SignedData, SignedValue, and the row <-> document mapping.

Prices may be negative here: a credit CDR carries the original's amounts negated (mod_cdrs).
The tariffs a CDR carries are kept as the partner sent them, checked only for the Tariff's
identity fields: its cost is recomputed by reconciliation, which reads them with the engine.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from apps.sessions.models import AuthMethod
from echargo.ocpi.enums import TokenType
from echargo.ocpi.fields import (
    CiStringField,
    LastUpdatedField,
    OcpiDateTimeField,
    OcpiNumberField,
    OcpiStringField,
    format_ocpi_datetime,
)
from echargo.ocpi.wire import jsonable, many, ocpi_dumps, optional

from .models import PRICE_FIELDS, Cdr

# CdrDimensionType values allowed in a CDR (the Session-only ones are not, mod_cdrs).
CDR_DIMENSIONS = (
    "ENERGY",
    "MAX_CURRENT",
    "MIN_CURRENT",
    "MAX_POWER",
    "MIN_POWER",
    "PARKING_TIME",
    "RESERVATION_TIME",
    "TIME",
)
_COORDINATE = re.compile(r"^-?\d{1,3}\.\d{5,7}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _boolean(data: Any, names: tuple[str, ...]) -> None:
    # DRF's BooleanField accepts "true"/1; OCPI booleans are JSON booleans only.
    for name in names:
        if (
            isinstance(data, dict)
            and data.get(name) is not None
            and not isinstance(data[name], bool)
        ):
            raise serializers.ValidationError({name: ["Must be a JSON boolean."]})


class PriceSerializer(serializers.Serializer):
    excl_vat = OcpiNumberField()
    incl_vat = optional(OcpiNumberField)


class CdrTokenSerializer(serializers.Serializer):
    country_code = CiStringField(max_length=2, min_length=2)
    party_id = CiStringField(max_length=3, min_length=3)
    uid = CiStringField(max_length=36, min_length=1)
    type = serializers.ChoiceField(choices=TokenType.choices)
    contract_id = CiStringField(max_length=36, min_length=1)


class GeoLocationSerializer(serializers.Serializer):
    latitude = serializers.RegexField(_COORDINATE, max_length=10)
    longitude = serializers.RegexField(_COORDINATE, max_length=11)


class CdrLocationSerializer(serializers.Serializer):
    id = CiStringField(max_length=36, min_length=1)
    name = optional(OcpiStringField, 255)
    address = OcpiStringField(max_length=45)
    city = OcpiStringField(max_length=45)
    postal_code = optional(OcpiStringField, 10, allow_blank=True)
    state = optional(OcpiStringField, 20)
    country = serializers.RegexField(r"^[A-Z]{3}$", max_length=3)
    coordinates = GeoLocationSerializer()
    evse_uid = CiStringField(max_length=36, min_length=1)
    evse_id = CiStringField(max_length=48, min_length=1)
    connector_id = CiStringField(max_length=36, min_length=1)
    # Any value for a reservation-only CDR (mod_cdrs): the enums are not enforced here.
    connector_standard = CiStringField(max_length=32, min_length=1)
    connector_format = CiStringField(max_length=8, min_length=1)
    connector_power_type = CiStringField(max_length=16, min_length=1)


class CdrDimensionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=[(d, d) for d in CDR_DIMENSIONS])
    volume = OcpiNumberField(decimal_places=6)


class ChargingPeriodSerializer(serializers.Serializer):
    start_date_time = OcpiDateTimeField()
    dimensions = CdrDimensionSerializer(many=True, allow_empty=False)
    tariff_id = optional(CiStringField, 36)


class SignedValueSerializer(serializers.Serializer):
    nature = CiStringField(max_length=32)
    plain_data = OcpiStringField(max_length=5000)
    signed_data = OcpiStringField(max_length=5000)


class SignedDataSerializer(serializers.Serializer):
    encoding_method = CiStringField(max_length=36)
    encoding_method_version = optional(serializers.IntegerField, min_value=0, max_value=2**31 - 1)
    public_key = optional(OcpiStringField, 512)
    signed_values = SignedValueSerializer(many=True, allow_empty=False)
    url = optional(OcpiStringField, 512)


class TariffRefSerializer(serializers.Serializer):
    """A Tariff inside a CDR: its identity checked, the rest kept as sent."""

    country_code = CiStringField(max_length=2, min_length=2)
    party_id = CiStringField(max_length=3, min_length=3)
    id = CiStringField(max_length=36, min_length=1)
    currency = serializers.RegexField(_CURRENCY, max_length=3)
    elements = serializers.ListField(child=serializers.DictField(), allow_empty=False)
    last_updated = OcpiDateTimeField()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        checked = super().to_internal_value(data)
        return {**data, **checked}


class CdrSerializer(serializers.Serializer):
    """The OCPI 2.2.1 CDR object, as POSTed to our eMSP receiver or pulled from a CPO."""

    country_code = CiStringField(max_length=2, min_length=2)
    party_id = CiStringField(max_length=3, min_length=3)
    id = CiStringField(max_length=39, min_length=1)
    start_date_time = OcpiDateTimeField()
    end_date_time = OcpiDateTimeField()
    session_id = optional(CiStringField, 36)
    cdr_token = CdrTokenSerializer()
    auth_method = serializers.ChoiceField(choices=AuthMethod.choices)
    authorization_reference = optional(CiStringField, 36)
    cdr_location = CdrLocationSerializer()
    meter_id = optional(OcpiStringField, 255)
    currency = serializers.RegexField(_CURRENCY, max_length=3)
    tariffs = many(TariffRefSerializer())
    charging_periods = ChargingPeriodSerializer(many=True, allow_empty=False)
    signed_data = optional(SignedDataSerializer)
    total_cost = PriceSerializer()
    total_fixed_cost = optional(PriceSerializer)
    total_energy = OcpiNumberField()
    total_energy_cost = optional(PriceSerializer)
    total_time = OcpiNumberField(decimal_places=6)
    total_time_cost = optional(PriceSerializer)
    total_parking_time = optional(OcpiNumberField, decimal_places=6)
    total_parking_cost = optional(PriceSerializer)
    total_reservation_cost = optional(PriceSerializer)
    remark = optional(OcpiStringField, 255)
    invoice_reference_id = optional(CiStringField, 39)
    credit = optional(serializers.BooleanField)
    credit_reference_id = optional(CiStringField, 39)
    home_charging_compensation = optional(serializers.BooleanField)
    last_updated = LastUpdatedField()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        _boolean(data, ("credit", "home_charging_compensation"))
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end_date_time"] < attrs["start_date_time"]:
            raise serializers.ValidationError({"end_date_time": "Before start_date_time."})
        if attrs.get("credit") and not attrs.get("credit_reference_id"):
            raise serializers.ValidationError(
                {"credit_reference_id": "Required in a credit CDR (credit = true)."}
            )
        if not attrs.get("credit") and len(attrs["id"]) > 36:
            raise serializers.ValidationError({"id": "At most 36 characters unless a credit."})
        return attrs


_local = threading.local()


def cdr_validated(data: Any) -> dict[str, Any]:
    """A CDR validated by CdrSerializer (DRF ValidationError -> OCPI 2001, as `validated`).

    CDR intake is the hot path of settlement: a Serializer instance deep-copies its (here
    nested, ~90) fields before it validates, which cost two thirds of a POST's validation.
    One instance per thread, with its fields built once, validates every CDR the thread
    serves: `run_validation` keeps no state between calls (the instance holds no data).
    """
    if not isinstance(data, dict):
        raise serializers.ValidationError("The body must be a JSON object.")
    serializer = getattr(_local, "cdr", None)
    if serializer is None:
        serializer = _local.cdr = CdrSerializer()
    return serializer.run_validation(data)


# --- Document <-> row ----------------------------------------------------------------------------


def cdr_document(data: Any) -> Any:
    """The canonical OCPI CDR document of validated data: absent optional fields omitted,
    datetimes in OCPI form, numbers kept exact (Decimal; `ocpi_dumps` writes them)."""
    if isinstance(data, dict):
        return {k: cdr_document(v) for k, v in data.items() if v is not None and v != ""}
    if isinstance(data, list | tuple):
        return [cdr_document(v) for v in data]
    if isinstance(data, dt.datetime):
        return format_ocpi_datetime(data)
    if isinstance(data, Decimal):
        return data.normalize() if data == data.to_integral_value() else data
    return data


def cdr_values(data: dict[str, Any]) -> dict[str, Any]:
    """Model field values of a validated CDR (everything but owner and the delivery facts)."""
    token, where = data["cdr_token"], data["cdr_location"]
    values: dict[str, Any] = {
        "country_code": data["country_code"].upper(),
        "party_id": data["party_id"].upper(),
        "cdr_id": data["id"],
        "start_date_time": data["start_date_time"],
        "end_date_time": data["end_date_time"],
        "session_id": data.get("session_id") or "",
        "token_country_code": token["country_code"].upper(),
        "token_party_id": token["party_id"].upper(),
        "token_uid": token["uid"],
        "token_type": token["type"],
        "token_contract_id": token["contract_id"],
        "auth_method": data["auth_method"],
        "authorization_reference": data.get("authorization_reference") or "",
        "location_id": where["id"],
        "location_name": where.get("name") or "",
        "location_address": where["address"],
        "location_city": where["city"],
        "location_postal_code": where.get("postal_code") or "",
        "location_state": where.get("state") or "",
        "location_country": where["country"],
        "evse_uid": where["evse_uid"],
        "evse_id": where["evse_id"],
        "connector_id": where["connector_id"],
        "connector_standard": where["connector_standard"],
        "connector_format": where["connector_format"],
        "connector_power_type": where["connector_power_type"],
        "cdr_location": jsonable(where),
        "meter_id": data.get("meter_id") or "",
        "currency": data["currency"],
        "tariffs": jsonable(data.get("tariffs") or []),
        "charging_periods": [_period_json(p) for p in data["charging_periods"]],
        "signed_data": jsonable(data["signed_data"]) if data.get("signed_data") else None,
        "total_energy": data["total_energy"],
        "total_time": data["total_time"],
        "total_parking_time": data.get("total_parking_time"),
        "remark": data.get("remark") or "",
        "invoice_reference_id": data.get("invoice_reference_id") or "",
        "credit": bool(data.get("credit")),
        "credit_reference_id": data.get("credit_reference_id") or "",
        "home_charging_compensation": data.get("home_charging_compensation"),
        "last_updated": data["last_updated"],
    }
    for name in PRICE_FIELDS:
        price = data.get(name) or {}
        values[f"{name}_excl_vat"] = price.get("excl_vat")
        values[f"{name}_incl_vat"] = price.get("incl_vat")
    return values


def _period_json(period: dict[str, Any]) -> dict[str, Any]:
    """A ChargingPeriod as stored: volumes as exact decimal strings (like sessions' periods)."""
    out: dict[str, Any] = {
        "start_date_time": format_ocpi_datetime(period["start_date_time"]),
        "dimensions": [
            {"type": d["type"], "volume": str(Decimal(d["volume"]))} for d in period["dimensions"]
        ],
    }
    if period.get("tariff_id"):
        out["tariff_id"] = period["tariff_id"]
    return out


def _price(excl_vat: Decimal | None, incl_vat: Decimal | None) -> dict[str, Any] | None:
    if excl_vat is None:
        return None
    return (
        {"excl_vat": excl_vat} if incl_vat is None else {"excl_vat": excl_vat, "incl_vat": incl_vat}
    )


def cdr_to_ocpi(cdr: Cdr) -> dict[str, Any]:
    """The OCPI document of a CDR row (ours: rendered once when it is created)."""
    doc: dict[str, Any] = {
        "country_code": cdr.country_code,
        "party_id": cdr.party_id,
        "id": cdr.cdr_id,
        "start_date_time": format_ocpi_datetime(cdr.start_date_time),
        "end_date_time": format_ocpi_datetime(cdr.end_date_time),
        "session_id": cdr.session_id,
        "cdr_token": {
            "country_code": cdr.token_country_code,
            "party_id": cdr.token_party_id,
            "uid": cdr.token_uid,
            "type": cdr.token_type,
            "contract_id": cdr.token_contract_id,
        },
        "auth_method": cdr.auth_method,
        "authorization_reference": cdr.authorization_reference,
        "cdr_location": cdr.cdr_location,
        "meter_id": cdr.meter_id,
        "currency": cdr.currency,
        "tariffs": cdr.tariffs,
        "charging_periods": [
            {
                **p,
                "dimensions": [
                    {"type": d["type"], "volume": Decimal(d["volume"])} for d in p["dimensions"]
                ],
            }
            for p in cdr.charging_periods
        ],
        "signed_data": cdr.signed_data,
        "total_energy": Decimal(cdr.total_energy),
        "total_time": Decimal(cdr.total_time),
        "total_parking_time": cdr.total_parking_time,
        "remark": cdr.remark,
        "invoice_reference_id": cdr.invoice_reference_id,
        "credit": cdr.credit or None,
        "credit_reference_id": cdr.credit_reference_id,
        "home_charging_compensation": cdr.home_charging_compensation,
        "last_updated": format_ocpi_datetime(cdr.last_updated),
    }
    for name in PRICE_FIELDS:
        doc[name] = _price(getattr(cdr, f"{name}_excl_vat"), getattr(cdr, f"{name}_incl_vat"))
    return {k: v for k, v in doc.items() if v not in (None, "", [])}


def cdr_dumps(document: dict[str, Any]) -> str:
    return ocpi_dumps(document)
