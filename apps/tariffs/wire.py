"""OCPI 2.2.1 Tariff JSON <-> tariffs models (mod_tariffs; field names, lengths, enums as specced).

`TariffSerializer` is the one schema of the Tariff object: it validates what partners (and our
staff, through the services) send, and it renders the canonical document we store and serve -
from validated data, or from the rows through `tariff_data_from_rows`. One class for both ways
keeps what we accept and what we emit from drifting apart. Absent optional values (None, blank
strings, empty lists) are left out when rendering, as OCPI 2.2.1 allows for `?` and `*` fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from echargo.ocpi.fields import (
    CiStringField,
    LastUpdatedField,
    OcpiDateTimeField,
    OcpiNumberField,
)
from echargo.ocpi.wire import (
    DisplayTextSerializer,
    EnergyMixSerializer,
    OcpiObjectSerializer,
    PriceSerializer,
    UrlField,
    many,
    optional,
)

from .models import (
    DATE_PATTERN,
    HHMM_PATTERN,
    DayOfWeek,
    ReservationRestrictionType,
    Tariff,
    TariffDimensionType,
    TariffElement,
    TariffType,
)

# PositiveIntegerField's ceiling on every database we run on: a bigger OCPI int is refused (2001)
# rather than failing the insert.
INT32_MAX = 2**31 - 1
# OCPI 2.2.1 mod_tariffs: a reservation element may only contain FLAT and TIME components.
RESERVATION_DIMENSIONS = frozenset({TariffDimensionType.FLAT, TariffDimensionType.TIME})


class PriceComponentSerializer(OcpiObjectSerializer):
    type = serializers.ChoiceField(choices=TariffDimensionType.choices)
    price = OcpiNumberField(min_value=0)
    # Absent VAT means "no VAT applicable", which is not the same as 0 (mod_tariffs).
    vat = optional(OcpiNumberField, min_value=0)
    step_size = serializers.IntegerField(min_value=0, max_value=INT32_MAX)


class TariffRestrictionsSerializer(OcpiObjectSerializer):
    start_time = optional(serializers.RegexField, HHMM_PATTERN, max_length=5)
    end_time = optional(serializers.RegexField, HHMM_PATTERN, max_length=5)
    start_date = optional(serializers.RegexField, DATE_PATTERN, max_length=10)
    end_date = optional(serializers.RegexField, DATE_PATTERN, max_length=10)
    min_kwh = optional(OcpiNumberField, min_value=0)
    max_kwh = optional(OcpiNumberField, min_value=0)
    min_current = optional(OcpiNumberField, min_value=0)
    max_current = optional(OcpiNumberField, min_value=0)
    min_power = optional(OcpiNumberField, min_value=0)
    max_power = optional(OcpiNumberField, min_value=0)
    min_duration = optional(serializers.IntegerField, min_value=0, max_value=INT32_MAX)
    max_duration = optional(serializers.IntegerField, min_value=0, max_value=INT32_MAX)
    day_of_week = many(serializers.ChoiceField(choices=DayOfWeek.choices))
    reservation = optional(serializers.ChoiceField, choices=ReservationRestrictionType.choices)


class TariffElementSerializer(OcpiObjectSerializer):
    price_components = PriceComponentSerializer(many=True, allow_empty=False)
    restrictions = optional(TariffRestrictionsSerializer)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        restrictions = attrs.get("restrictions") or {}
        if restrictions.get("reservation"):
            others = {c["type"] for c in attrs["price_components"]} - RESERVATION_DIMENSIONS
            if others:
                raise serializers.ValidationError(
                    {
                        "price_components": "A reservation element may only contain FLAT and "
                        f"TIME components, not {', '.join(sorted(others))}."
                    }
                )
        return attrs


class TariffSerializer(OcpiObjectSerializer):
    """The OCPI 2.2.1 Tariff object."""

    country_code = CiStringField(max_length=2)
    party_id = CiStringField(max_length=3)
    id = CiStringField(max_length=36)
    currency = serializers.RegexField(r"^[A-Z]{3}$", max_length=3)
    type = optional(serializers.ChoiceField, choices=TariffType.choices)
    tariff_alt_text = many(DisplayTextSerializer())
    tariff_alt_url = optional(UrlField)
    min_price = optional(PriceSerializer)
    max_price = optional(PriceSerializer)
    elements = TariffElementSerializer(many=True, allow_empty=False)
    start_date_time = optional(OcpiDateTimeField)
    end_date_time = optional(OcpiDateTimeField)
    energy_mix = optional(EnergyMixSerializer)
    last_updated = LastUpdatedField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # min_price and max_price apply independently excl. and incl. VAT; a minimum above the
        # maximum leaves no price the session may cost.
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low and high:
            for part in ("excl_vat", "incl_vat"):
                a, b = low.get(part), high.get(part)
                if a is not None and b is not None and a > b:
                    raise serializers.ValidationError(
                        {"min_price": f"min_price.{part} is higher than max_price.{part}."}
                    )
        return attrs


def tariff_document(data: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical OCPI Tariff object of validated (or row-derived) tariff data."""
    return TariffSerializer().to_representation(data)


def _price(excl_vat: Decimal | None, incl_vat: Decimal | None) -> dict[str, Any] | None:
    if excl_vat is None:
        return None
    return {"excl_vat": excl_vat, "incl_vat": incl_vat}


def _restrictions_data(element: TariffElement) -> dict[str, Any] | None:
    try:
        r = element.restrictions
    except TariffElement.restrictions.RelatedObjectDoesNotExist:
        return None
    return {
        "start_time": r.start_time or None,
        "end_time": r.end_time or None,
        "start_date": r.start_date or None,
        "end_date": r.end_date or None,
        "min_kwh": r.min_kwh,
        "max_kwh": r.max_kwh,
        "min_current": r.min_current,
        "max_current": r.max_current,
        "min_power": r.min_power,
        "max_power": r.max_power,
        "min_duration": r.min_duration,
        "max_duration": r.max_duration,
        "day_of_week": r.day_of_week or None,
        "reservation": r.reservation or None,
    }


def tariff_data_from_rows(tariff: Tariff) -> dict[str, Any]:
    """The tariff's rows as TariffSerializer data (prefetch elements, components, restrictions)."""
    return {
        "country_code": tariff.owner.country_code,
        "party_id": tariff.owner.party_id,
        "id": tariff.tariff_id,
        "currency": tariff.currency,
        "type": tariff.type or None,
        "tariff_alt_text": tariff.tariff_alt_text or None,
        "tariff_alt_url": tariff.tariff_alt_url or None,
        "min_price": _price(tariff.min_price_excl_vat, tariff.min_price_incl_vat),
        "max_price": _price(tariff.max_price_excl_vat, tariff.max_price_incl_vat),
        "elements": [
            {
                "price_components": [
                    {"type": c.type, "price": c.price, "vat": c.vat, "step_size": c.step_size}
                    for c in element.price_components.all()
                ],
                "restrictions": _restrictions_data(element),
            }
            for element in tariff.elements.all()
        ],
        "start_date_time": tariff.start_date_time,
        "end_date_time": tariff.end_date_time,
        "energy_mix": tariff.energy_mix,
        "last_updated": tariff.last_updated,
    }
