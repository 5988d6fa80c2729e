"""Charge Detail Records (OCPI 2.2.1 mod_cdrs): ours (we are the CPO) and partners' (we are the
eMSP) in one table, told apart by `owner` (the CPO party) and `received_from`.

A CDR is immutable once created (OCPI 2.2.1 mod_cdrs): nothing here is ever updated after the
row is written, except the delivery fact `location_header` of ours. A correction is a credit
CDR (credit=True, credit_reference_id = the original id, amounts negated) plus, optionally, a
new CDR. Every OCPI field that staff read is a column (cdr_token, the CdrLocation facts, each
Price as excl/incl VAT, NULL = absent on the wire); the nested lists (tariffs,
charging_periods, signed_data) and the whole cdr_location are stored as OCPI JSON, and the
whole document once in `ocpi_json`, which is what GET answers.
"""

from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from apps.partners.models import PartnerConnection, Party
from apps.sessions.models import AuthMethod, Session
from apps.tokens.models import Token
from echargo.history import history_user
from echargo.ocpi.enums import TokenType

PRICE_FIELDS = (
    "total_cost",
    "total_fixed_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_reservation_cost",
)
"""The CDR's OCPI Price fields; each is two columns, `<name>_excl_vat` and `<name>_incl_vat`."""


def _money(label: str, *, required: bool = False) -> models.DecimalField:
    return models.DecimalField(
        label, max_digits=16, decimal_places=4, null=not required, blank=not required
    )


class Direction(models.TextChoices):
    OURS = "ours", "Ours (we are the CPO)"
    PARTNERS = "partners", "Partner's (we are the eMSP)"


class Cdr(models.Model):
    owner = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="cdrs", help_text="The CPO party."
    )
    country_code = models.CharField(max_length=2)
    party_id = models.CharField(max_length=3)
    cdr_id = models.CharField("id", max_length=39)
    # CiString: compared case-insensitively; this upper-case copy is what lookups use.
    cdr_key = models.CharField(max_length=39, editable=False, help_text="id, upper case.")
    start_date_time = models.DateTimeField()
    end_date_time = models.DateTimeField()
    session_id = models.CharField(max_length=36, blank=True)
    # cdr_token (OCPI CdrToken), one column per field.
    token = models.ForeignKey(
        Token, null=True, blank=True, on_delete=models.SET_NULL, related_name="cdrs"
    )
    token_country_code = models.CharField("token country code", max_length=2)
    token_party_id = models.CharField("token party id", max_length=3)
    token_uid = models.CharField("token uid", max_length=36)
    token_type = models.CharField("token type", max_length=12, choices=TokenType.choices)
    token_contract_id = models.CharField("contract id", max_length=36)
    auth_method = models.CharField(max_length=12, choices=AuthMethod.choices)
    authorization_reference = models.CharField(max_length=36, blank=True)
    # cdr_location (OCPI CdrLocation): the facts staff read, and the whole object.
    location_id = models.CharField(max_length=36)
    location_name = models.CharField(max_length=255, blank=True)
    location_address = models.CharField(max_length=45)
    location_city = models.CharField(max_length=45)
    location_postal_code = models.CharField(max_length=10, blank=True)
    location_state = models.CharField(max_length=20, blank=True)
    location_country = models.CharField(max_length=3)
    evse_uid = models.CharField("EVSE uid", max_length=36)
    evse_id = models.CharField("EVSE id", max_length=48)
    connector_id = models.CharField(max_length=36)
    connector_standard = models.CharField(max_length=32)
    connector_format = models.CharField(max_length=8)
    connector_power_type = models.CharField(max_length=16)
    cdr_location = models.JSONField(editable=False, help_text="The OCPI CdrLocation as sent.")
    meter_id = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3)
    tariffs = models.JSONField(default=list, blank=True, editable=False)
    charging_periods = models.JSONField(default=list, editable=False)
    signed_data = models.JSONField(null=True, blank=True, editable=False)
    # Prices (OCPI Price): NULL = absent on the wire (absent is not free).
    total_cost_excl_vat = _money("total cost excl. VAT", required=True)
    total_cost_incl_vat = _money("total cost incl. VAT")
    total_fixed_cost_excl_vat = _money("fixed cost excl. VAT")
    total_fixed_cost_incl_vat = _money("fixed cost incl. VAT")
    total_energy = models.DecimalField("total energy (kWh)", max_digits=16, decimal_places=4)
    total_energy_cost_excl_vat = _money("energy cost excl. VAT")
    total_energy_cost_incl_vat = _money("energy cost incl. VAT")
    total_time = models.DecimalField("total time (hours)", max_digits=16, decimal_places=6)
    total_time_cost_excl_vat = _money("time cost excl. VAT")
    total_time_cost_incl_vat = _money("time cost incl. VAT")
    total_parking_time = models.DecimalField(
        "parking time (hours)", max_digits=16, decimal_places=6, null=True, blank=True
    )
    total_parking_cost_excl_vat = _money("parking cost excl. VAT")
    total_parking_cost_incl_vat = _money("parking cost incl. VAT")
    total_reservation_cost_excl_vat = _money("reservation cost excl. VAT")
    total_reservation_cost_incl_vat = _money("reservation cost incl. VAT")
    remark = models.CharField(max_length=255, blank=True)
    invoice_reference_id = models.CharField(max_length=39, blank=True)
    credit = models.BooleanField(default=False, help_text="A credit CDR (negated amounts).")
    credit_reference_id = models.CharField(
        max_length=39, blank=True, help_text="The id of the CDR this one credits."
    )
    home_charging_compensation = models.BooleanField(null=True, blank=True)
    last_updated = models.DateTimeField()

    # --- Not on the OCPI wire ------------------------------------------------------------------
    ocpi_json = models.TextField(editable=False, help_text="The OCPI CDR document, as stored.")
    received_from = models.ForeignKey(
        PartnerConnection,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cdrs_received",
        help_text="The connection that sent it; empty for ours.",
    )
    received_at = models.DateTimeField(null=True, blank=True)
    location_header = models.URLField(
        max_length=512,
        blank=True,
        help_text="Ours: the URL the eMSP answered our POST with (its stored copy).",
    )
    # Our Session row when we know it (`session_id` above is the OCPI id on the wire).
    charging_session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="cdrs"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(
        get_user=history_user,
        excluded_fields=["ocpi_json", "tariffs", "charging_periods", "signed_data"],
    )

    class Meta:
        ordering = ["-last_updated", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["country_code", "party_id", "cdr_key"], name="cdr_unique_key"
            )
        ]
        indexes = [
            models.Index(fields=["last_updated", "id"], name="cdr_page"),
            models.Index(fields=["token_country_code", "token_party_id"], name="cdr_token_party"),
        ]

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id} CDR {self.cdr_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.cdr_key = self.cdr_id.upper()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def direction(self) -> str:
        return Direction.PARTNERS if self.received_from_id else Direction.OURS


class CorrectionMode(models.TextChoices):
    CREDIT_AND_NEW = "credit_and_new", "Credit CDR, then a new CDR"
    NEW_ONLY = "new_only", "New CDR only (partner ignores credit CDRs)"


class CdrPartnerPolicy(models.Model):
    """How a partner wants corrections of our CDRs: OCPI's credit CDR plus a new one, or (some
    hubs ignore credit CDRs) the new CDR alone. No row = the spec's way."""

    connection = models.OneToOneField(
        PartnerConnection, on_delete=models.CASCADE, related_name="cdr_policy"
    )
    correction = models.CharField(
        max_length=16, choices=CorrectionMode.choices, default=CorrectionMode.CREDIT_AND_NEW
    )

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = "CDR partner policy"
        verbose_name_plural = "CDR partner policies"

    def __str__(self) -> str:
        return f"{self.connection}: {self.get_correction_display()}"
