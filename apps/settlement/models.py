"""Settlement between operators: disputes over partners' CDRs, and statements per partner.

A `Dispute` is opened by reconciliation (services.cdr_reconcile) on a CDR a partner sent us, or
by staff; it keeps both computations so the partner can be told line by line why a CDR is held
out. A `Statement` is the money of one counterparty (country_code, party_id), one direction,
one currency and one period; `StatementLine` rows say which CDRs it covers and which it holds
out. A CDR is *included* in at most one statement ever (a partial unique index), which is what
makes a closed statement final: a late CDR can only land in a later one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from apps.cdrs.models import Cdr
from apps.partners.models import PartnerConnection
from echargo.history import history_user


def money_field(*args: object, **kwargs: object) -> models.DecimalField:
    """OCPI amounts: 4 decimals (STYLE.md 5); sums of a million CDRs still fit."""
    return models.DecimalField(*args, max_digits=20, decimal_places=4, **kwargs)  # type: ignore[misc]


class DisputeReason(models.TextChoices):
    PRICE_DEVIATION = "price_deviation", "Price deviates from the partner's tariff"
    DUPLICATE = "duplicate", "Duplicate of another CDR"
    UNKNOWN_TOKEN = "unknown_token", "Token is not one of ours"
    UNKNOWN_SESSION = "unknown_session", "Session never seen"
    SESSION_MISMATCH = "session_mismatch", "Does not match the session we saw"
    NO_TARIFF = "no_tariff", "No tariff to check the price with"
    CURRENCY = "currency", "Currency differs from the tariff's"
    UNKNOWN_CREDIT_REFERENCE = "unknown_credit_reference", "Credits a CDR we never received"
    STAFF = "staff", "Opened by staff"


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted (CDR stands)"
    REJECTED = "rejected", "Rejected (CDR not paid)"
    CREDITED = "credited", "Credited (credit CDR received)"


# Disputes in these states keep their CDR out of statements.
HOLDING_STATUSES = (DisputeStatus.OPEN, DisputeStatus.REJECTED)


class Dispute(models.Model):
    cdr = models.OneToOneField(Cdr, on_delete=models.PROTECT, related_name="dispute")
    status = models.CharField(
        max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    reason = models.CharField(
        max_length=32, choices=DisputeReason.choices, help_text="The first finding."
    )
    # Every finding of reconciliation: [{"code": DisputeReason, "message": "..."}]; shown as a
    # list, never edited.
    findings = models.JSONField(default=list, editable=False)
    currency = models.CharField(max_length=3)
    partner_total_excl_vat = money_field(
        "partner's total excl. VAT", null=True, blank=True, editable=False
    )
    partner_total_incl_vat = money_field(
        "partner's total incl. VAT", null=True, blank=True, editable=False
    )
    our_total_excl_vat = money_field("our total excl. VAT", null=True, blank=True, editable=False)
    our_total_incl_vat = money_field("our total incl. VAT", null=True, blank=True, editable=False)
    # Line by line, partner beside ours: [{"line": "energy", "partner_excl_vat": "1.2", ...}],
    # amounts as exact decimal strings (None: the line is absent on that side).
    lines = models.JSONField(default=list, editable=False)
    tariff_source = models.CharField(
        max_length=255, blank=True, editable=False, help_text="Which tariff we priced it with."
    )
    our_breakdown = models.TextField(
        blank=True, editable=False, help_text="How our engine priced it, period by period."
    )
    credit_cdr = models.ForeignKey(
        Cdr,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credited_disputes",
        help_text="The partner's credit CDR that settled this dispute.",
    )
    note = models.TextField(blank=True, help_text="Why it was resolved as it was.")
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords(get_user=history_user, excluded_fields=["our_breakdown"])

    class Meta:
        ordering = ["-opened_at", "-pk"]
        indexes = [models.Index(fields=["status"], name="dispute_status")]

    def __str__(self) -> str:
        return f"dispute {self.pk} on {self.cdr}"

    @property
    def deviation_excl_vat(self):
        if self.partner_total_excl_vat is None or self.our_total_excl_vat is None:
            return None
        return self.partner_total_excl_vat - self.our_total_excl_vat


class Direction(models.TextChoices):
    RECEIVABLE = "receivable", "Receivable (our CDRs, their drivers)"
    PAYABLE = "payable", "Payable (their CDRs, our drivers)"


class StatementStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    CLOSED = "closed", "Closed"


class Statement(models.Model):
    direction = models.CharField(max_length=10, choices=Direction.choices)
    # The counterparty operator; one code may carry both roles (CPO and eMSP) of a partner.
    country_code = models.CharField(max_length=2)
    party_id = models.CharField(max_length=3)
    connection = models.ForeignKey(
        PartnerConnection,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statements",
    )
    currency = models.CharField(max_length=3)
    period_start = models.DateField(help_text="First day of the period.")
    period_end = models.DateField(help_text="First day after the period.")
    status = models.CharField(
        max_length=8, choices=StatementStatus.choices, default=StatementStatus.DRAFT
    )
    cdr_count = models.PositiveIntegerField("CDRs", default=0)
    credit_count = models.PositiveIntegerField("of which credit CDRs", default=0)
    energy_kwh = money_field("energy (kWh)", default=0)
    total_excl_vat = money_field("total excl. VAT", default=0)
    total_incl_vat = money_field("total incl. VAT", default=0)
    held_count = models.PositiveIntegerField("CDRs held out", default=0)
    held_excl_vat = money_field("held out excl. VAT", default=0)
    held_incl_vat = money_field("held out incl. VAT", default=0)
    built_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        ordering = ["-period_start", "country_code", "party_id", "direction", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["direction", "country_code", "party_id", "currency", "period_start"],
                name="statement_identity",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_direction_display().split(' ')[0]} {self.country_code}*{self.party_id} "
            f"{self.period_start:%Y-%m} {self.currency}"
        )

    @property
    def counterparty(self) -> str:
        return f"{self.country_code}*{self.party_id}"


class StatementLine(models.Model):
    """A CDR a statement covers (held=False) or holds out (held=True, with the reason)."""

    # Plain bigint foreign keys without database constraints: a million lines are written by
    # one INSERT ... SELECT, and a deferred constraint trigger per row would cost more than the
    # insert; integrity comes from that SELECT reading existing rows, and PROTECT in Django.
    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="lines", db_constraint=False
    )
    cdr = models.ForeignKey(
        Cdr, on_delete=models.PROTECT, related_name="statement_lines", db_constraint=False
    )
    held = models.BooleanField(default=False)
    hold_reason = models.CharField(max_length=32, blank=True, choices=DisputeReason.choices)
    dispute = models.ForeignKey(
        Dispute, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["statement", "cdr"], name="statement_line_once"),
            # A CDR is settled once, ever: a closed statement keeps its CDRs for good.
            models.UniqueConstraint(
                fields=["cdr"], condition=models.Q(held=False), name="cdr_settled_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cdr_id} in {self.statement_id}"
