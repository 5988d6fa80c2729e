"""Charging sessions (OCPI 2.2.1 mod_sessions): ours and partners' in one table, by owner.

Every OCPI Session field is a column (cdr_token and total_cost spread over plain columns so staff
read them without JSON); `charging_periods` holds the OCPI ChargingPeriod list, volumes as exact
decimal strings. Beside them, the facts of our own chargers that OCPI does not carry: meter
readings in Wh, the charger's own timestamps, the stop reason, and flags for staff. This app
knows nothing of OCPP: the chargers app translates charger messages into these columns through
apps/sessions/services.py.
"""

from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from apps.partners.models import Party
from apps.tokens.models import Token
from echargo.history import history_user
from echargo.ocpi.enums import TokenType


class SessionStatus(models.TextChoices):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    INVALID = "INVALID"
    PENDING = "PENDING"
    RESERVATION = "RESERVATION"


class AuthMethod(models.TextChoices):
    AUTH_REQUEST = "AUTH_REQUEST", "Real-time request to the eMSP"
    COMMAND = "COMMAND", "Remote command"
    WHITELIST = "WHITELIST", "Local whitelist"


class ChargingState(models.TextChoices):
    """What the vehicle does now: prices by time must know charging from parking (OCPI 2.2.1
    erratum: PARKING_TIME is time the vehicle is not requesting power)."""

    CHARGING = "charging", "Charging"
    PARKING = "parking", "Parking (not requesting power)"


class Session(models.Model):
    owner = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="sessions", help_text="The CPO party."
    )
    country_code = models.CharField(max_length=2)
    party_id = models.CharField(max_length=3)
    session_id = models.CharField("id", max_length=36)
    session_key = models.CharField(max_length=36, editable=False, help_text="id, upper case.")
    start_date_time = models.DateTimeField()
    end_date_time = models.DateTimeField(null=True, blank=True)
    kwh = models.DecimalField("energy (kWh)", max_digits=16, decimal_places=4, default=0)
    # cdr_token (OCPI CdrToken), one column per field.
    token = models.ForeignKey(
        Token, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions"
    )
    token_country_code = models.CharField("token country code", max_length=2)
    token_party_id = models.CharField("token party id", max_length=3)
    token_uid = models.CharField("token uid", max_length=36)
    token_type = models.CharField("token type", max_length=12, choices=TokenType.choices)
    token_contract_id = models.CharField("contract id", max_length=36)
    auth_method = models.CharField(max_length=12, choices=AuthMethod.choices)
    authorization_reference = models.CharField(max_length=36, blank=True)
    location_id = models.CharField(max_length=36)
    evse_uid = models.CharField("EVSE uid", max_length=36)
    connector_id = models.CharField(max_length=36)
    meter_id = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3)
    charging_periods = models.JSONField(default=list, blank=True)
    # total_cost (OCPI Price); NULL excl_vat = no cost known (absent is not free, OCPI 2.2.1).
    total_cost_excl_vat = models.DecimalField(
        "total cost excl. VAT", max_digits=16, decimal_places=4, null=True, blank=True
    )
    total_cost_incl_vat = models.DecimalField(
        "total cost incl. VAT", max_digits=16, decimal_places=4, null=True, blank=True
    )
    status = models.CharField(max_length=12, choices=SessionStatus.choices)
    last_updated = models.DateTimeField()

    # --- Facts of our own chargers (not on the OCPI wire) -------------------------------------
    tariff_id = models.CharField(
        max_length=36, blank=True, help_text="The tariff in force at start, which prices it."
    )
    tariff_json = models.TextField(
        blank=True, editable=False, help_text="That tariff's OCPI document as it was at start."
    )
    time_zone = models.CharField(max_length=64, help_text="The location's, for tariff clocks.")
    meter_start_wh = models.DecimalField(
        "meter start (Wh)", max_digits=16, decimal_places=3, null=True, blank=True
    )
    meter_last_wh = models.DecimalField(
        "last meter reading (Wh)", max_digits=16, decimal_places=3, null=True, blank=True
    )
    meter_stop_wh = models.DecimalField(
        "meter stop (Wh)", max_digits=16, decimal_places=3, null=True, blank=True
    )
    period_start_wh = models.DecimalField(
        "meter at start of the current period (Wh)",
        max_digits=16,
        decimal_places=3,
        null=True,
        blank=True,
        editable=False,
    )
    last_reading_at = models.DateTimeField(
        null=True, blank=True, help_text="Charger time of the newest reading applied."
    )
    max_power_kw = models.DecimalField(
        "max power (kW)", max_digits=12, decimal_places=3, null=True, blank=True
    )
    charging_state = models.CharField(
        max_length=8, choices=ChargingState.choices, default=ChargingState.CHARGING
    )
    charger_started_at = models.DateTimeField(
        null=True, blank=True, help_text="Start time as the charger stamped it."
    )
    charger_stopped_at = models.DateTimeField(
        null=True, blank=True, help_text="Stop time as the charger stamped it."
    )
    received_start_at = models.DateTimeField(
        null=True, blank=True, help_text="When we learnt of the start (late for replays)."
    )
    received_stop_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=32, blank=True)
    flags = models.JSONField(
        default=list, blank=True, editable=False, help_text="Notes for staff, newest last."
    )
    needs_review = models.BooleanField(default=False, help_text="A flag staff should look at.")

    history = HistoricalRecords(get_user=history_user, excluded_fields=["tariff_json"])

    class Meta:
        ordering = ["-start_date_time", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["country_code", "party_id", "session_key"], name="session_unique_key"
            )
        ]
        indexes = [
            models.Index(fields=["last_updated", "id"], name="session_page"),
            models.Index(fields=["status"], name="session_status"),
        ]

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id} session {self.session_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.session_key = self.session_id.upper()
        super().save(*args, **kwargs)  # type: ignore[arg-type]
