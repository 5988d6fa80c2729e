"""OCPI 2.2.1 classes that more than one module puts on the wire, and the cardinality helpers.

EnergyMix and its parts are specified in mod_locations and reused by mod_tariffs; Image and
BusinessDetails are specified in mod_locations and reused by credentials; DisplayText and URL
are types.asciidoc. The modules' own objects stay in their apps' `wire.py`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from echargo.ocpi.enums import EnergySourceCategory, EnvironmentalImpactCategory, ImageCategory
from echargo.ocpi.fields import CiStringField, OcpiNumberField, OcpiStringField

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


class EnergySourceSerializer(OcpiObjectSerializer):
    source = serializers.ChoiceField(choices=EnergySourceCategory.choices)
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
