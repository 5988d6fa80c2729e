"""Roaming parties and the connections that carry them (DESIGN.md: a Party is not a connection)."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.models import HistoricalRecords

from echargo.history import history_user


class Role(models.TextChoices):
    CPO = "CPO"
    EMSP = "EMSP"
    HUB = "HUB"
    NAP = "NAP"
    NSP = "NSP"
    OTHER = "OTHER"
    SCSP = "SCSP"


class PartnerConnection(models.Model):
    """One OCPI credentials relationship: a versions URL, tokens both ways, endpoints."""

    class Status(models.TextChoices):
        PENDING = "pending"
        CONNECTED = "connected"
        SUSPENDED = "suspended"
        UNREGISTERED = "unregistered"

    class AuthEncoding(models.TextChoices):
        BASE64 = "base64", "Base64 (OCPI 2.2.1)"
        RAW = "raw", "Raw token (older peers)"

    name = models.CharField(
        max_length=100, help_text="Unique (ignoring case): commands name a connection by it."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    versions_url = models.URLField(max_length=255, blank=True)
    version = models.CharField(max_length=10, blank=True, help_text="Negotiated OCPI version.")
    endpoints = models.JSONField(
        default=list, blank=True, help_text="The partner's endpoints: identifier, role, url."
    )
    # The token the partner issued to us, encrypted: we need it back for every call we make.
    outgoing_token_encrypted = models.TextField(blank=True, editable=False)
    auth_encoding = models.CharField(
        max_length=8,
        choices=AuthEncoding.choices,
        default=AuthEncoding.BASE64,
        help_text="How our Authorization header carries the token on calls to this partner.",
    )
    last_error = models.TextField(blank=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["outgoing_token_encrypted"], get_user=history_user)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="partner_connection_unique_name",
                violation_error_message="A connection with this name exists already "
                "(names are compared ignoring case).",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def endpoint_url(self, identifier: str, role: str | None = None) -> str | None:
        """The partner's URL for a module (and interface role), if it announced one."""
        for endpoint in self.endpoints or []:
            if endpoint.get("identifier") == identifier and (
                role is None or endpoint.get("role") == role
            ):
                return endpoint.get("url")
        return None


class Party(models.Model):
    """A role of an operator: (country_code, party_id, role). Ours, or carried by a connection."""

    country_code = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, upper case.")
    party_id = models.CharField(max_length=3, help_text="CiString(3), stored upper case.")
    role = models.CharField(max_length=5, choices=Role.choices)
    name = models.CharField(max_length=100)
    website = models.URLField(max_length=255, blank=True)
    logo = models.JSONField(null=True, blank=True, help_text="OCPI Image object, if any.")
    is_own = models.BooleanField(default=False, help_text="One of the parties this platform hosts.")
    connection = models.ForeignKey(
        PartnerConnection, null=True, blank=True, on_delete=models.PROTECT, related_name="parties"
    )
    last_updated = models.DateTimeField(auto_now=True, db_index=True)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name_plural = "parties"
        ordering = ["country_code", "party_id", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["country_code", "party_id", "role"], name="party_unique_role"
            ),
            models.CheckConstraint(
                condition=models.Q(is_own=False) | models.Q(connection__isnull=True),
                name="own_party_has_no_connection",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id} ({self.role})"

    @property
    def business_details(self) -> dict:
        details: dict = {"name": self.name}
        if self.website:
            details["website"] = self.website
        if self.logo:
            details["logo"] = self.logo
        return details


class AccessToken(models.Model):
    """A credentials token we issued: a keyed hash for lookup, encrypted for GET /credentials."""

    class Kind(models.TextChoices):
        # Token A: one-time, handed out of band; only versions and credentials accept it.
        REGISTRATION = "A", "Registration (token A)"
        # The token a partner uses for every call once registered (token B or C in the spec).
        ACCESS = "C", "Access"

    connection = models.ForeignKey(
        PartnerConnection, on_delete=models.CASCADE, related_name="tokens"
    )
    kind = models.CharField(max_length=1, choices=Kind.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    token_encrypted = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} token of {self.connection_id}"


class OutboxMessage(models.Model):
    """One push to one partner, written in the same transaction as the change it carries.

    PostgreSQL holds the truth; Redis only carries wake-ups. Messages for the same partner and
    object are delivered strictly in order. State messages (an EVSE status, a token) coalesce to
    their latest version while undelivered; billing messages (CDRs, final sessions) never do.
    """

    class Kind(models.TextChoices):
        STATE = "state", "State (latest version wins)"
        BILLING = "billing", "Billing (FIFO until acknowledged)"

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERING = "delivering"
        DELIVERED = "delivered"
        SUPERSEDED = "superseded"
        DEAD = "dead", "Dead letter"

    connection = models.ForeignKey(
        PartnerConnection, on_delete=models.CASCADE, related_name="outbox"
    )
    module = models.CharField(max_length=32, help_text="OCPI module, e.g. tokens, locations.")
    interface_role = models.CharField(max_length=8, default="RECEIVER")
    object_key = models.CharField(max_length=160, help_text="country_code/party_id/id[/...]")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300, help_text="Appended to the partner's module URL.")
    # The OCPI JSON as text: numbers stay exact (a JSONField would round-trip Decimals as str).
    body = models.TextField(blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.STATE)
    # The receiving party, sent as OCPI-to-* (the owner in object_key is sent as OCPI-from-*).
    to_country_code = models.CharField(max_length=2, blank=True)
    to_party_id = models.CharField(max_length=3, blank=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    leased_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The initial sync that queued this message, if one did: its progress counts these.
    sync = models.ForeignKey(
        "InitialSync",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["connection", "status", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["connection", "object_key", "status"], name="outbox_object"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.module}/{self.path} -> {self.connection_id} ({self.status})"


class SyncState(models.Model):
    """Where the scheduled pull of one module from one partner stands."""

    connection = models.ForeignKey(
        PartnerConnection, on_delete=models.CASCADE, related_name="sync_states"
    )
    module = models.CharField(max_length=32)
    # date_from of the next incremental pull: the start of the last run that completed.
    last_success_started_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_counts = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "module"], name="sync_state_unique")
        ]

    def __str__(self) -> str:
        return f"{self.connection} {self.module}"


class InitialSync(models.Model):
    """One delivery of our whole current set of a module to one partner, through the outbox.

    Started when a connection becomes active, or by staff from the connection's page; queued
    in batches by a Celery task (`next_after` is where the next batch starts), so a large
    network never sits in one transaction.
    """

    class Status(models.TextChoices):
        QUEUEING = "queueing"
        QUEUED = "queued", "Queued (delivering through the outbox)"
        SKIPPED = "skipped"

    connection = models.ForeignKey(
        PartnerConnection, on_delete=models.CASCADE, related_name="initial_syncs"
    )
    module = models.CharField(max_length=32)
    reason = models.CharField(max_length=200, help_text="Why it was started, and by whom.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUEING)
    started_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last batch was queued."
    )
    # Messages are first tried at this time: a partner that registered with us stores our
    # parties only once our credentials answer reaches it (OCPI 2.2.1 credentials).
    deliver_from = models.DateTimeField(default=timezone.now)
    next_after = models.BigIntegerField(
        default=0, help_text="Primary key the next batch starts after."
    )
    queued = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"Initial sync of {self.module} to {self.connection}"
