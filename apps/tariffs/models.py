"""Tariffs (OCPI 2.2.1 mod_tariffs): ours and partners' in the same tables, told apart by owner.

A Tariff holds its TariffElements in list order; each element holds its PriceComponents in list
order and at most one TariffRestrictions row (absent restrictions = no row). The OCPI JSON of the
whole tariff is rendered by the services on every change and kept in `ocpi_json`, so list pages
join stored documents instead of serializing nested rows per request.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.core.validators import RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

from apps.partners.models import Party
from echargo.history import history_user

# OCPI 2.2.1 mod_tariffs TariffRestrictions: the regexes the spec gives for local times and dates.
HHMM_PATTERN = r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$"
DATE_PATTERN = r"^([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


class TariffType(models.TextChoices):
    AD_HOC_PAYMENT = "AD_HOC_PAYMENT"
    PROFILE_CHEAP = "PROFILE_CHEAP"
    PROFILE_FAST = "PROFILE_FAST"
    PROFILE_GREEN = "PROFILE_GREEN"
    REGULAR = "REGULAR"


class TariffDimensionType(models.TextChoices):
    ENERGY = "ENERGY"
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"


class DayOfWeek(models.TextChoices):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


class ReservationRestrictionType(models.TextChoices):
    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


class NumberJSONEncoder(json.JSONEncoder):
    """JSONField encoder that keeps OCPI numbers numbers (Django's default makes Decimals strings).

    Used for EnergyMix percentages and amounts only, which are not money.
    """

    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return float(o)
        return super().default(o)


def number_field(**kwargs: Any) -> models.DecimalField:
    """OCPI number: 4 decimals (STYLE.md 5) and a generous integer part."""
    return models.DecimalField(max_digits=16, decimal_places=4, **kwargs)


class Tariff(models.Model):
    """One OCPI Tariff of one CPO party: one of ours, or a partner's pushed or pulled to us."""

    owner = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="tariffs")
    tariff_id = models.CharField(
        "id", max_length=36, help_text="OCPI id, CiString(36), as its owner spells it."
    )
    # CiString: ids compare case-insensitively; this upper-case copy is what lookups use.
    tariff_id_key = models.CharField(max_length=36, editable=False)
    currency = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. EUR, TRY.")
    type = models.CharField(
        max_length=16,
        choices=TariffType.choices,
        blank=True,
        help_text="Empty: valid for every session (OCPI: type absent).",
    )
    tariff_alt_text = models.JSONField(
        default=list, blank=True, help_text='DisplayText list: [{"language": "en", "text": ...}]'
    )
    tariff_alt_url = models.CharField(max_length=255, blank=True)
    # Price is (excl_vat, incl_vat?); an absent min_price/max_price has a NULL excl_vat.
    min_price_excl_vat = number_field(null=True, blank=True)
    min_price_incl_vat = number_field(null=True, blank=True)
    max_price_excl_vat = number_field(null=True, blank=True)
    max_price_incl_vat = number_field(null=True, blank=True)
    start_date_time = models.DateTimeField(null=True, blank=True)
    end_date_time = models.DateTimeField(null=True, blank=True)
    energy_mix = models.JSONField(null=True, blank=True, encoder=NumberJSONEncoder)
    last_updated = models.DateTimeField()
    # The OCPI document as text, numbers exact; rendered by the services on every change.
    ocpi_json = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "tariff_id_key"], name="tariff_identity"),
        ]
        indexes = [
            # Sender pages pick their ids on (last_updated, id) alone (DESIGN.md: speed).
            models.Index(fields=["last_updated", "id"], name="tariff_page"),
        ]

    def __str__(self) -> str:
        return f"{self.owner.country_code}*{self.owner.party_id} tariff {self.tariff_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.tariff_id_key = self.tariff_id.upper()
        super().save(*args, **kwargs)

    @property
    def object_key(self) -> str:
        """country_code/party_id/id: the outbox key and the receiver URL tail."""
        return f"{self.owner.country_code}/{self.owner.party_id}/{self.tariff_id}"


class TariffElement(models.Model):
    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="elements")
    # Position in the tariff's `elements` list: the first matching element wins, so order matters.
    position = models.PositiveSmallIntegerField()

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        ordering = ["tariff", "position"]
        constraints = [
            models.UniqueConstraint(fields=["tariff", "position"], name="tariff_element_position"),
        ]

    def __str__(self) -> str:
        return f"element {self.position} of {self.tariff_id}"


class PriceComponent(models.Model):
    element = models.ForeignKey(
        TariffElement, on_delete=models.CASCADE, related_name="price_components"
    )
    position = models.PositiveSmallIntegerField()
    type = models.CharField(max_length=12, choices=TariffDimensionType.choices)
    price = number_field(help_text="Per unit (kWh, hour, or once for FLAT), excluding VAT.")
    # NULL: no VAT applies, which OCPI 2.2.1 says differs from a VAT of 0.
    vat = number_field(null=True, blank=True, help_text="Percentage; empty = no VAT applicable.")
    step_size = models.PositiveIntegerField(
        help_text="Billing granularity in the dimension's step unit (Wh or seconds)."
    )

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        ordering = ["element", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["element", "position"], name="tariff_price_component_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.price}"


class TariffRestrictions(models.Model):
    """When an element applies; local times and dates are in the Location's time zone."""

    element = models.OneToOneField(
        TariffElement, on_delete=models.CASCADE, related_name="restrictions"
    )
    start_time = models.CharField(
        max_length=5, blank=True, validators=[RegexValidator(HHMM_PATTERN)], help_text="HH:MM"
    )
    end_time = models.CharField(
        max_length=5, blank=True, validators=[RegexValidator(HHMM_PATTERN)], help_text="HH:MM"
    )
    start_date = models.CharField(
        max_length=10, blank=True, validators=[RegexValidator(DATE_PATTERN)], help_text="YYYY-MM-DD"
    )
    end_date = models.CharField(
        max_length=10,
        blank=True,
        validators=[RegexValidator(DATE_PATTERN)],
        help_text="YYYY-MM-DD, exclusive",
    )
    min_kwh = number_field(null=True, blank=True)
    max_kwh = number_field(null=True, blank=True)
    min_current = number_field(null=True, blank=True)
    max_current = number_field(null=True, blank=True)
    min_power = number_field(null=True, blank=True)
    max_power = number_field(null=True, blank=True)
    min_duration = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds.")
    max_duration = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds.")
    day_of_week = models.JSONField(default=list, blank=True, help_text="DayOfWeek list.")
    reservation = models.CharField(
        max_length=20, choices=ReservationRestrictionType.choices, blank=True
    )

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name_plural = "tariff restrictions"

    def __str__(self) -> str:
        return f"restrictions of {self.element}"
