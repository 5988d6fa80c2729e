"""OCPI 2.2.1 classes that more than one module puts on the wire, the cardinality helpers, and
the generic helpers every module's wire.py and admin use (validation, error text, exact JSON).

EnergyMix and its parts are specified in mod_locations and reused by mod_tariffs; Image and
BusinessDetails are specified in mod_locations and reused by credentials; DisplayText and URL
are types.asciidoc. The modules' own objects stay in their apps' `wire.py`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from echargo.ocpi.enums import EnergySourceCategory, EnvironmentalImpactCategory, ImageCategory
from echargo.ocpi.fields import (
    CiStringField,
    OcpiNumberField,
    OcpiStringField,
    format_ocpi_datetime,
)

# --- Cardinalities -----------------------------------------------------------------------------


def optional(field_class: type[serializers.Field], *args: Any, **kwargs: Any) -> Any:
    """Cardinality `?`: may be omitted or null (an empty string is still refused unless the
    caller passes allow_blank=True). DRF re-creates declared fields from their constructor
    arguments, so the flags must be passed there, not set afterwards."""
    return field_class(*args, required=False, allow_null=True, **kwargs)


def many(child: serializers.Field, **kwargs: Any) -> serializers.ListField:
    """Cardinality `*`: a list that may be omitted, null or empty; its items may not be null.

    (`Serializer(many=True, allow_null=True)` would hand allow_null to the items too.)
    """
    return serializers.ListField(child=child, required=False, allow_null=True, **kwargs)


# --- Rendering ---------------------------------------------------------------------------------


class OcpiObjectSerializer(serializers.Serializer):
    """Renders without the optional values that are absent (None, blank strings, empty lists),
    as OCPI 2.2.1 allows for `?` and `*` fields."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        return {key: value for key, value in data.items() if value not in (None, "", [])}


# --- Shared types --------------------------------------------------------------------------------


class UrlField(serializers.URLField):
    """OCPI 2.2.1 types: URL is string(255)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=255, **kwargs)


class ImageSerializer(serializers.Serializer):
    url = UrlField()
    thumbnail = optional(UrlField, allow_blank=True)
    category = serializers.ChoiceField(choices=ImageCategory.choices)
    type = CiStringField(4)
    width = optional(serializers.IntegerField, min_value=0, max_value=99999)
    height = optional(serializers.IntegerField, min_value=0, max_value=99999)


class BusinessDetailsSerializer(serializers.Serializer):
    name = OcpiStringField(100)
    website = optional(UrlField, allow_blank=True)
    logo = optional(ImageSerializer)


class DisplayTextSerializer(OcpiObjectSerializer):
    language = OcpiStringField(2)
    text = OcpiStringField(512)


class PriceSerializer(OcpiObjectSerializer):
    """types.asciidoc Price: tariffs, sessions and CDRs carry it."""

    excl_vat = OcpiNumberField(min_value=0)
    incl_vat = optional(OcpiNumberField, min_value=0)


class EnergySourceSerializer(OcpiObjectSerializer):
    # The OCPI field is called `source`, like DRF's Field.source: the serializer's metaclass
    # takes declared fields out of the class, so only the type checker sees a clash.
    source = serializers.ChoiceField(choices=EnergySourceCategory.choices)  # type: ignore[assignment]
    percentage = OcpiNumberField(min_value=Decimal(0), max_value=Decimal(100))


class EnvironmentalImpactSerializer(OcpiObjectSerializer):
    category = serializers.ChoiceField(choices=EnvironmentalImpactCategory.choices)
    amount = OcpiNumberField(min_value=Decimal(0))


class EnergyMixSerializer(OcpiObjectSerializer):
    """mod_locations EnergyMix, also a Tariff's energy_mix."""

    is_green_energy = serializers.BooleanField()
    energy_sources = many(EnergySourceSerializer())
    environ_impact = many(EnvironmentalImpactSerializer())
    supplier_name = optional(OcpiStringField, 64)
    energy_product_name = optional(OcpiStringField, 64)


# --- Validation and error text --------------------------------------------------------------------


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate one OCPI object (raises DRF ValidationError -> OCPI 2001)."""
    if not isinstance(data, dict):
        raise serializers.ValidationError("The body must be a JSON object.")
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def flatten_errors(detail: Any, prefix: str = "") -> list[str]:
    """DRF error details as "field.sub: problem" lines (for staff messages and CSV rows)."""
    if isinstance(detail, dict):
        return [
            line
            for key, value in detail.items()
            for line in flatten_errors(value, f"{prefix}{key}.")
        ]
    if isinstance(detail, list):
        return [line for value in detail for line in flatten_errors(value, prefix)]
    return [f"{prefix.rstrip('.')}: {detail}" if prefix else str(detail)]


# --- JSON values --------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Validated data -> plain JSON values in OCPI shape (for JSON columns and documents)."""
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return format_ocpi_datetime(value)
    return value


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"not a JSON number: {value!r}")
    text = format(value.normalize(), "f")
    # Keep numbers looking like numbers with decimals (0.0, 2.5): OCPI `number`, not `int`.
    return text if "." in text else text + ".0"


def ocpi_dumps(value: Any) -> str:
    """JSON text of an OCPI document with every Decimal written exactly (no float detour)."""
    if isinstance(value, Mapping):
        items = (
            f"{json.dumps(str(k), ensure_ascii=False)}:{ocpi_dumps(v)}" for k, v in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(ocpi_dumps(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return _decimal_text(value)
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def ocpi_loads(text: str) -> Any:
    """Parse stored OCPI JSON with exact numbers."""
    return json.loads(text, parse_float=Decimal)
