"""OCPI 2.2.1 Location / EVSE / Connector JSON <-> Python (mod_locations.asciidoc).

Input serializers validate what partners (and our own services) send: field names, lengths,
cardinalities and enums exactly as the spec types them; coordinates are read leniently and
normalised. Output serializers render our rows as OCPI JSON, leaving out absent optional fields.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rest_framework import serializers

from echargo.ocpi.enums import TokenType
from echargo.ocpi.fields import (
    CiStringField,
    LastUpdatedField,
    OcpiDateTimeField,
    OcpiStringField,
)
from echargo.ocpi.routing import ci
from echargo.ocpi.wire import (
    BusinessDetailsSerializer,
    DisplayTextSerializer,
    EnergyMixSerializer,
    ImageSerializer,
    OcpiObjectSerializer,
    UrlField,
    jsonable,
    many,
    optional,
)

from .models import (
    EVSE,
    Capability,
    Connector,
    ConnectorFormat,
    ConnectorType,
    Facility,
    Location,
    ParkingRestriction,
    ParkingType,
    PowerType,
    Status,
)

# --- Small helpers ---------------------------------------------------------------------------

# Optional strings below take allow_blank=True: an empty optional string is read as absent,
# since partners send "" for a postal code they do not have (and CSV imports leave cells empty).


# --- GeoLocation: strings in OCPI, read leniently --------------------------------------------


class CoordinateField(serializers.Field):
    """Latitude/longitude as OCPI strings with 5-7 decimals (mod_locations GeoLocation).

    Partners send numbers, commas or too many/few decimals; we accept any of these within range
    and store the spec form: a "." separator, 5 to 7 decimals (padded, or rounded to 7).
    """

    default_error_messages = {
        "invalid": "A coordinate must be a decimal number.",
        "range": "A coordinate must lie between -{limit} and {limit}.",
    }

    def __init__(self, limit: int, **kwargs: Any) -> None:
        self.limit = limit
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        try:
            return normalise_coordinate(data, self.limit)
        except ValueError as exc:
            self.fail(str(exc), limit=self.limit)

    def to_representation(self, value: str) -> str:
        return value


_NUMBER = re.compile(r"^-?\d{1,3}(\.\d+)?$")


def normalise_coordinate(data: Any, limit: int) -> str:
    """The OCPI string form of a coordinate: "." separator, 5 to 7 decimals (padded, or rounded
    to 7). ValueError("invalid") when it is not a decimal number, ("range") beyond +-limit."""
    if isinstance(data, bool) or not isinstance(data, str | int | float | Decimal):
        raise ValueError("invalid")
    text = str(data).strip().replace(",", ".")
    if not _NUMBER.match(text):
        raise ValueError("invalid")
    value = Decimal(text)
    if abs(value) > limit:
        raise ValueError("range")
    places = min(max(-value.as_tuple().exponent, 5), 7)
    text = f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):.{places}f}"
    # -0.000000 is 0: never emit a negative zero.
    return text[1:] if text.startswith("-") and Decimal(text) == 0 else text


class GeoLocationSerializer(serializers.Serializer):
    latitude = CoordinateField(90)
    longitude = CoordinateField(180)


class AdditionalGeoLocationSerializer(GeoLocationSerializer):
    name = optional(DisplayTextSerializer)


_LOCAL_TIME = r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$"


class RegularHoursSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=1, max_value=7)
    period_begin = serializers.RegexField(_LOCAL_TIME, max_length=5)
    period_end = serializers.RegexField(_LOCAL_TIME, max_length=5)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["period_end"] <= attrs["period_begin"]:
            raise serializers.ValidationError("period_end must be later than period_begin.")
        return attrs


class ExceptionalPeriodSerializer(serializers.Serializer):
    period_begin = OcpiDateTimeField()
    period_end = OcpiDateTimeField()


class HoursSerializer(serializers.Serializer):
    twentyfourseven = serializers.BooleanField()
    regular_hours = many(RegularHoursSerializer())
    exceptional_openings = many(ExceptionalPeriodSerializer())
    exceptional_closings = many(ExceptionalPeriodSerializer())

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # OCPI 2.2.1 Hours: regular_hours only (and then at least one) when not 24/7.
        if attrs["twentyfourseven"] and attrs.get("regular_hours"):
            raise serializers.ValidationError("regular_hours only when twentyfourseven is false.")
        if not attrs["twentyfourseven"] and not attrs.get("regular_hours"):
            raise serializers.ValidationError("regular_hours required when not twentyfourseven.")
        return attrs


class PublishTokenTypeSerializer(serializers.Serializer):
    uid = optional(CiStringField, 36, allow_blank=True)
    type = optional(serializers.ChoiceField, choices=TokenType.choices)
    visual_number = optional(OcpiStringField, 64, allow_blank=True)
    issuer = optional(OcpiStringField, 64, allow_blank=True)
    group_id = optional(CiStringField, 36, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # OCPI 2.2.1 PublishTokenType: one of uid/visual_number/group_id; uid needs type,
        # visual_number needs issuer.
        if not (attrs.get("uid") or attrs.get("visual_number") or attrs.get("group_id")):
            raise serializers.ValidationError("One of uid, visual_number or group_id is required.")
        if attrs.get("uid") and not attrs.get("type"):
            raise serializers.ValidationError("type is required with uid.")
        if attrs.get("visual_number") and not attrs.get("issuer"):
            raise serializers.ValidationError("issuer is required with visual_number.")
        return attrs


class StatusScheduleSerializer(serializers.Serializer):
    period_begin = OcpiDateTimeField()
    period_end = optional(OcpiDateTimeField)
    status = serializers.ChoiceField(choices=Status.choices)


# --- Location, EVSE, Connector: input ---------------------------------------------------------


class ConnectorIn(serializers.Serializer):
    id = CiStringField(36, min_length=1)
    standard = serializers.ChoiceField(choices=ConnectorType.choices)
    format = serializers.ChoiceField(choices=ConnectorFormat.choices)
    power_type = serializers.ChoiceField(choices=PowerType.choices)
    max_voltage = serializers.IntegerField(min_value=0, max_value=2_000_000)
    max_amperage = serializers.IntegerField(min_value=0, max_value=2_000_000)
    max_electric_power = optional(serializers.IntegerField, min_value=0, max_value=2_000_000_000)
    tariff_ids = many(CiStringField(36, min_length=1))
    terms_and_conditions = optional(UrlField, allow_blank=True)
    last_updated = LastUpdatedField()


def _unique(items: list[dict[str, Any]], field: str, what: str) -> None:
    keys = [ci(item[field]) for item in items]
    if len(keys) != len(set(keys)):
        raise serializers.ValidationError({what: f"{field} values must be unique."})


class EVSEIn(serializers.Serializer):
    uid = CiStringField(36, min_length=1)
    evse_id = optional(CiStringField, 48, allow_blank=True)
    status = serializers.ChoiceField(choices=Status.choices)
    status_schedule = many(StatusScheduleSerializer())
    capabilities = many(serializers.ChoiceField(choices=Capability.choices))
    connectors = serializers.ListField(child=ConnectorIn(), allow_empty=False)
    floor_level = optional(OcpiStringField, 4, allow_blank=True)
    coordinates = optional(GeoLocationSerializer)
    physical_reference = optional(OcpiStringField, 16, allow_blank=True)
    directions = many(DisplayTextSerializer())
    parking_restrictions = many(serializers.ChoiceField(choices=ParkingRestriction.choices))
    images = many(ImageSerializer())
    last_updated = LastUpdatedField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _unique(attrs["connectors"], "id", "connectors")
        return attrs


class LocationIn(serializers.Serializer):
    country_code = CiStringField(2, min_length=2)
    party_id = CiStringField(3, min_length=3)
    id = CiStringField(36, min_length=1)
    publish = serializers.BooleanField()
    publish_allowed_to = many(PublishTokenTypeSerializer())
    name = optional(OcpiStringField, 255, allow_blank=True)
    # OCPI 2.2.1 bugfix-branch erratum: address string(255), state string(45).
    address = OcpiStringField(255)
    city = OcpiStringField(45)
    postal_code = optional(OcpiStringField, 10, allow_blank=True)
    state = optional(OcpiStringField, 45, allow_blank=True)
    country = serializers.RegexField(r"^[A-Za-z]{3}$", help_text="ISO 3166-1 alpha-3.")
    coordinates = GeoLocationSerializer()
    related_locations = many(AdditionalGeoLocationSerializer())
    parking_type = optional(serializers.ChoiceField, choices=ParkingType.choices)
    evses = many(EVSEIn())
    directions = many(DisplayTextSerializer())
    operator = optional(BusinessDetailsSerializer)
    suboperator = optional(BusinessDetailsSerializer)
    owner = optional(BusinessDetailsSerializer)
    facilities = many(serializers.ChoiceField(choices=Facility.choices))
    time_zone = OcpiStringField(255)
    opening_times = optional(HoursSerializer)
    charging_when_closed = optional(serializers.BooleanField)
    images = many(ImageSerializer())
    energy_mix = optional(EnergyMixSerializer)
    last_updated = LastUpdatedField()

    def validate_time_zone(self, value: str) -> str:
        # Tariff restrictions and opening hours are local time in this zone: it must exist.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise serializers.ValidationError("Unknown IANA time zone.") from None
        return value

    def validate_country(self, value: str) -> str:
        return value.upper()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["publish"] and attrs.get("publish_allowed_to"):
            raise serializers.ValidationError(
                {"publish_allowed_to": "Only allowed when publish is false."}
            )
        _unique(attrs.get("evses") or [], "uid", "evses")
        return attrs


# --- Output: rows -> OCPI JSON ------------------------------------------------------------------


class _CoordinatesOut(serializers.Field):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, obj: Any) -> dict[str, str] | None:
        if not obj.latitude or not obj.longitude:
            return None
        return {"latitude": obj.latitude, "longitude": obj.longitude}


class ConnectorOut(OcpiObjectSerializer):
    id = serializers.CharField(source="connector_id")
    standard = serializers.CharField()
    format = serializers.CharField()
    power_type = serializers.CharField()
    max_voltage = serializers.IntegerField()
    max_amperage = serializers.IntegerField()
    max_electric_power = serializers.IntegerField(allow_null=True)
    tariff_ids = serializers.JSONField()
    terms_and_conditions = serializers.CharField()
    last_updated = OcpiDateTimeField()


class EVSEFieldsOut(OcpiObjectSerializer):
    """An EVSE's own fields, without its connectors (e.g. for an EVSE not saved yet)."""

    uid = serializers.CharField()
    evse_id = serializers.CharField()
    status = serializers.CharField()
    status_schedule = serializers.JSONField()
    capabilities = serializers.JSONField()
    floor_level = serializers.CharField()
    coordinates = _CoordinatesOut()
    physical_reference = serializers.CharField()
    directions = serializers.JSONField()
    parking_restrictions = serializers.JSONField()
    images = serializers.JSONField()
    last_updated = OcpiDateTimeField()


class EVSEOut(EVSEFieldsOut):
    connectors = ConnectorOut(many=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        return {key: data[key] for key in _EVSE_ORDER if key in data}


_EVSE_ORDER = list(EVSEFieldsOut._declared_fields)
_EVSE_ORDER.insert(_EVSE_ORDER.index("capabilities") + 1, "connectors")


class LocationFieldsOut(OcpiObjectSerializer):
    """A Location's own fields, without its EVSEs (e.g. for a location not saved yet)."""

    country_code = serializers.CharField()
    party_id = serializers.CharField()
    id = serializers.CharField(source="location_id")
    publish = serializers.BooleanField()
    publish_allowed_to = serializers.JSONField()
    name = serializers.CharField()
    address = serializers.CharField()
    city = serializers.CharField()
    postal_code = serializers.CharField()
    state = serializers.CharField()
    country = serializers.CharField()
    coordinates = _CoordinatesOut()
    related_locations = serializers.JSONField()
    parking_type = serializers.CharField()
    directions = serializers.JSONField()
    operator = serializers.JSONField()
    suboperator = serializers.JSONField()
    owner = serializers.JSONField(source="owner_details")
    facilities = serializers.JSONField()
    time_zone = serializers.CharField()
    opening_times = serializers.JSONField()
    charging_when_closed = serializers.BooleanField(allow_null=True)
    images = serializers.JSONField()
    energy_mix = serializers.JSONField()
    last_updated = OcpiDateTimeField()


class LocationOut(LocationFieldsOut):
    evses = EVSEOut(many=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        # The spec's field order (evses after parking_type) keeps documents readable.
        return {key: data[key] for key in _LOCATION_ORDER if key in data}


_LOCATION_ORDER = list(LocationFieldsOut._declared_fields)
_LOCATION_ORDER.insert(_LOCATION_ORDER.index("parking_type") + 1, "evses")


# --- OCPI validated data -> model column values -----------------------------------------------


def _coordinates(data: dict[str, Any] | None) -> dict[str, str]:
    if not data:
        return {"latitude": "", "longitude": ""}
    return {"latitude": data["latitude"], "longitude": data["longitude"]}


def location_values(data: dict[str, Any]) -> dict[str, Any]:
    """Column values of a Location from validated LocationIn data (without evses)."""
    return {
        "location_id": data["id"],
        "location_key": ci(data["id"]),
        "publish": data["publish"],
        "publish_allowed_to": jsonable(data.get("publish_allowed_to") or []),
        "name": data.get("name") or "",
        "address": data["address"],
        "city": data["city"],
        "postal_code": data.get("postal_code") or "",
        "state": data.get("state") or "",
        "country": data["country"],
        **_coordinates(data["coordinates"]),
        "related_locations": jsonable(data.get("related_locations") or []),
        "parking_type": data.get("parking_type") or "",
        "directions": jsonable(data.get("directions") or []),
        "operator": jsonable(data.get("operator")),
        "suboperator": jsonable(data.get("suboperator")),
        "owner_details": jsonable(data.get("owner")),
        "facilities": list(data.get("facilities") or []),
        "time_zone": data["time_zone"],
        "opening_times": jsonable(data.get("opening_times")),
        "charging_when_closed": data.get("charging_when_closed"),
        "images": jsonable(data.get("images") or []),
        "energy_mix": jsonable(data.get("energy_mix")),
    }


def evse_values(data: dict[str, Any]) -> dict[str, Any]:
    """Column values of an EVSE from validated EVSEIn data (without connectors)."""
    return {
        "uid": data["uid"],
        "uid_key": ci(data["uid"]),
        "evse_id": data.get("evse_id") or "",
        "status": data["status"],
        "status_schedule": jsonable(data.get("status_schedule") or []),
        "capabilities": list(data.get("capabilities") or []),
        "floor_level": data.get("floor_level") or "",
        **_coordinates(data.get("coordinates")),
        "physical_reference": data.get("physical_reference") or "",
        "directions": jsonable(data.get("directions") or []),
        "parking_restrictions": list(data.get("parking_restrictions") or []),
        "images": jsonable(data.get("images") or []),
    }


def connector_values(data: dict[str, Any]) -> dict[str, Any]:
    """Column values of a Connector from validated ConnectorIn data."""
    return {
        "connector_id": data["id"],
        "connector_key": ci(data["id"]),
        "standard": data["standard"],
        "format": data["format"],
        "power_type": data["power_type"],
        "max_voltage": data["max_voltage"],
        "max_amperage": data["max_amperage"],
        "max_electric_power": data.get("max_electric_power"),
        "tariff_ids": list(data.get("tariff_ids") or []),
        "terms_and_conditions": data.get("terms_and_conditions") or "",
    }


def location_document(location: Location) -> dict[str, Any]:
    """The OCPI Location of a row; EVSEs and connectors come from the (prefetched) relations."""
    return dict(LocationOut(location).data)


def evse_document(evse: EVSE) -> dict[str, Any]:
    return dict(EVSEOut(evse).data)


def connector_document(connector: Connector) -> dict[str, Any]:
    return dict(ConnectorOut(connector).data)
