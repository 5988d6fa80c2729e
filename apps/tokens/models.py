"""Driver tokens (OCPI 2.2.1 mod_tokens): ours and partners' in one table, and every decision."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Upper
from simple_history.models import HistoricalRecords

from apps.partners.models import PartnerConnection, Party
from echargo.history import history_user
from echargo.ocpi.enums import TokenType


class WhitelistType(models.TextChoices):
    ALWAYS = "ALWAYS"
    ALLOWED = "ALLOWED"
    ALLOWED_OFFLINE = "ALLOWED_OFFLINE"
    NEVER = "NEVER"


class ProfileType(models.TextChoices):
    CHEAP = "CHEAP"
    FAST = "FAST"
    GREEN = "GREEN"
    REGULAR = "REGULAR"


class AllowedType(models.TextChoices):
    ALLOWED = "ALLOWED"
    BLOCKED = "BLOCKED"
    EXPIRED = "EXPIRED"
    NO_CREDIT = "NO_CREDIT"
    NOT_ALLOWED = "NOT_ALLOWED"


class Token(models.Model):
    """A driver's token, owned by an eMSP party: one of ours, or a partner's pushed/pulled to us."""

    owner = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="tokens")
    country_code = models.CharField(max_length=2)
    party_id = models.CharField(max_length=3)
    uid = models.CharField(max_length=36)
    # CiString: uid compares case-insensitively; this upper-case copy is what lookups use.
    uid_key = models.CharField(max_length=36, editable=False)
    type = models.CharField(max_length=12, choices=TokenType.choices)
    contract_id = models.CharField(max_length=36)
    visual_number = models.CharField(max_length=64, blank=True)
    issuer = models.CharField(max_length=64)
    group_id = models.CharField(max_length=36, blank=True)
    valid = models.BooleanField(default=True)
    whitelist = models.CharField(max_length=16, choices=WhitelistType.choices)
    language = models.CharField(max_length=2, blank=True)
    default_profile_type = models.CharField(max_length=8, choices=ProfileType.choices, blank=True)
    energy_contract = models.JSONField(
        null=True, blank=True, help_text='{"supplier_name": ..., "contract_id": ...}'
    )
    last_updated = models.DateTimeField()

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "uid_key", "type"], name="token_identity"),
        ]
        indexes = [
            # A tap at our station knows uid and type only: one index lookup across all owners.
            models.Index(fields=["uid_key", "type"], name="token_tap"),
            models.Index(fields=["owner", "last_updated", "id"], name="token_page"),
            # An unpublished location of ours may name its drivers' tokens by group_id or by
            # visual_number (OCPI 2.2.1 PublishTokenType): found by index, not by a scan of every
            # token (apps.locations.visibility). Partial: most tokens carry neither.
            models.Index(Upper("group_id"), condition=~models.Q(group_id=""), name="token_group"),
            models.Index(
                fields=["visual_number"],
                condition=~models.Q(visual_number=""),
                name="token_visual_number",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id} {self.type} {self.uid}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.uid_key = self.uid.upper()
        self.country_code = self.owner.country_code
        self.party_id = self.owner.party_id
        super().save(*args, **kwargs)

    @property
    def object_key(self) -> str:
        return f"{self.country_code}/{self.party_id}/{self.uid}/{self.type}"


class AuthorizationDecision(models.Model):
    """One authorization: as eMSP (a partner CPO asked us) or as CPO (a tap at our station)."""

    class Side(models.TextChoices):
        EMSP = "emsp", "We answered as eMSP"
        CPO = "cpo", "We decided as CPO"

    class Source(models.TextChoices):
        LOCAL = "local", "Local (whitelist)"
        REALTIME = "realtime", "Real-time (eMSP answered)"
        FALLBACK = "fallback", "Local after eMSP did not answer"
        UNAVAILABLE = "unavailable", "Refused: eMSP did not answer"
        UNKNOWN = "unknown", "Unknown token"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    side = models.CharField(max_length=4, choices=Side.choices)
    token = models.ForeignKey(
        Token, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    uid = models.CharField(max_length=36)
    type = models.CharField(max_length=12, choices=TokenType.choices)
    connection = models.ForeignKey(
        PartnerConnection,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="authorizations",
        help_text="The partner asked (eMSP side) or asking (CPO side).",
    )
    location_id = models.CharField(max_length=36, blank=True)
    evse_uids = models.JSONField(default=list, blank=True)
    allowed = models.CharField(max_length=12, choices=AllowedType.choices, blank=True)
    source = models.CharField(max_length=12, choices=Source.choices)
    authorization_reference = models.CharField(max_length=36, blank=True)
    latency_ms = models.FloatField()
    detail = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # Found by exact value only (admin search "=", a session naming it): a plain index.
            # db_index on a CharField would add a second, LIKE-pattern index on PostgreSQL, and
            # each random-looking key costs a page write per insert after a checkpoint.
            models.Index(fields=["authorization_reference"], name="decision_reference"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.uid}: {self.allowed or 'unknown'} ({self.source})"
