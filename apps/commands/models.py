"""OCPI 2.2.1 Commands (mod_commands) in both roles.

eMSP side: `Command` is one command we sent to a partner CPO, with its state machine
(queued -> the CPO's CommandResponse -> the CommandResult, or TIMEOUT) and the hash of the secret
in its response_url. CPO side: `ReceivedCommand` is one command a partner eMSP sent us, the
charger command it became and the CommandResult we owe it; `Reservation` is a partner's
reservation of one of our EVSEs.
"""

from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from apps.chargers.models import ChargerCommand
from apps.locations.models import EVSE, Location
from apps.partners.models import PartnerConnection, Party
from apps.sessions.models import Session
from apps.tokens.models import Token
from echargo.history import history_user
from echargo.ocpi.enums import TokenType


class CommandType(models.TextChoices):
    CANCEL_RESERVATION = "CANCEL_RESERVATION", "Cancel reservation"
    RESERVE_NOW = "RESERVE_NOW", "Reserve now"
    START_SESSION = "START_SESSION", "Start session"
    STOP_SESSION = "STOP_SESSION", "Stop session"
    UNLOCK_CONNECTOR = "UNLOCK_CONNECTOR", "Unlock connector"


class CommandResponseType(models.TextChoices):
    """The CPO's synchronous answer: could it forward the command (not the charger's answer)."""

    ACCEPTED = "ACCEPTED", "Accepted"
    NOT_SUPPORTED = "NOT_SUPPORTED", "Not supported"
    REJECTED = "REJECTED", "Rejected"
    UNKNOWN_SESSION = "UNKNOWN_SESSION", "Unknown session"


class CommandResultType(models.TextChoices):
    """The asynchronous outcome at the charge point."""

    ACCEPTED = "ACCEPTED", "Accepted"
    CANCELED_RESERVATION = "CANCELED_RESERVATION", "Reservation canceled"
    EVSE_OCCUPIED = "EVSE_OCCUPIED", "EVSE occupied"
    EVSE_INOPERATIVE = "EVSE_INOPERATIVE", "EVSE inoperative"
    FAILED = "FAILED", "Failed"
    NOT_SUPPORTED = "NOT_SUPPORTED", "Not supported"
    REJECTED = "REJECTED", "Rejected"
    TIMEOUT = "TIMEOUT", "Timeout"
    UNKNOWN_RESERVATION = "UNKNOWN_RESERVATION", "Unknown reservation"


class CommandState(models.TextChoices):
    QUEUED = "queued", "Queued, not sent yet"
    WAITING = "waiting", "Accepted by the CPO, waiting for the result"
    RESULT = "result", "Result received"
    REFUSED = "refused", "Refused by the CPO"
    UNREACHABLE = "unreachable", "Could not be sent"
    TIMED_OUT = "timed_out", "No result in time"


OPEN_STATES = (CommandState.QUEUED, CommandState.WAITING)


class Command(models.Model):
    """A command we (eMSP) sent to a partner CPO, and what became of it (history kept)."""

    command = models.CharField(max_length=20, choices=CommandType.choices)
    connection = models.ForeignKey(
        PartnerConnection,
        on_delete=models.PROTECT,
        related_name="commands_sent",
        help_text="The connection it was sent to: only it may post the result.",
    )
    cpo = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="commands_received", help_text="The CPO."
    )
    # sha256 of the secret last path segment of the response_url: the secret itself is not kept.
    uid_hash = models.CharField(max_length=64, unique=True, editable=False)
    response_url = models.CharField(
        max_length=255,
        editable=False,
        help_text="Where the CPO posts the result (secret cut).",
    )
    state = models.CharField(max_length=12, choices=CommandState.choices, default="queued")
    # The request, one column per field (OCPI StartSession, StopSession, ReserveNow, ...).
    token = models.ForeignKey(
        Token, null=True, blank=True, on_delete=models.PROTECT, related_name="commands"
    )
    location_id = models.CharField(max_length=36, blank=True)
    evse_uid = models.CharField("EVSE uid", max_length=36, blank=True)
    connector_id = models.CharField(max_length=36, blank=True)
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="commands"
    )
    session_ocpi_id = models.CharField("session id", max_length=36, blank=True)
    reservation_id = models.CharField("reservation id", max_length=36, blank=True)
    expiry_date = models.DateTimeField("reservation until", null=True, blank=True)
    authorization_reference = models.CharField(max_length=36, blank=True)
    # The CPO's CommandResponse.
    response = models.CharField(max_length=16, choices=CommandResponseType.choices, blank=True)
    response_timeout = models.PositiveIntegerField("result timeout (s)", null=True, blank=True)
    response_message = models.CharField(max_length=512, blank=True)
    # The CommandResult (TIMEOUT also when we gave up waiting).
    result = models.CharField(max_length=20, choices=CommandResultType.choices, blank=True)
    result_message = models.CharField(max_length=512, blank=True)
    error = models.CharField(max_length=512, blank=True, help_text="Why it could not be sent.")
    requested_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    result_due_at = models.DateTimeField(
        null=True, blank=True, help_text="The CPO's timeout plus our grace: TIMEOUT after."
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["state", "result_due_at"],
                condition=models.Q(state__in=["queued", "waiting"]),
                name="command_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_command_display()} to {self.cpo}: {self.get_state_display()}"

    @property
    def is_final(self) -> bool:
        return self.state not in OPEN_STATES


class ReservationStatus(models.TextChoices):
    PENDING = "pending", "Sent to the charger"
    ACTIVE = "active", "Active"
    REFUSED = "refused", "Refused by the charger"
    CANCELED = "canceled", "Canceled"
    EXPIRED = "expired", "Expired"


class Reservation(models.Model):
    """A partner eMSP's reservation of one of our EVSEs (OCPI ReserveNow).

    Its pk is the OCPP reservationId: unique across eMSPs, so one eMSP can never replace or
    cancel another's reservation (OCPI 2.2.1 mod_commands)."""

    emsp = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="reservations")
    reservation_id = models.CharField("reservation id", max_length=36, help_text="The eMSP's.")
    reservation_key = models.CharField(max_length=36, editable=False)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="reservations")
    evse = models.ForeignKey(EVSE, on_delete=models.PROTECT, related_name="reservations")
    token_uid = models.CharField("token uid", max_length=36)
    token_type = models.CharField("token type", max_length=12, choices=TokenType.choices)
    token_contract_id = models.CharField("contract id", max_length=36)
    expiry_date = models.DateTimeField("reserved until")
    authorization_reference = models.CharField(max_length=36, blank=True)
    response_url = models.CharField(max_length=255, editable=False)
    status = models.CharField(
        max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(get_user=history_user, excluded_fields=["response_url"])

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["emsp", "location", "reservation_key"], name="reservation_unique_id"
            )
        ]
        indexes = [models.Index(fields=["status", "expiry_date"], name="reservation_due")]

    def __str__(self) -> str:
        return f"reservation {self.reservation_id} of {self.emsp} at {self.evse.uid}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.reservation_key = self.reservation_id.upper()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class ReceivedCommand(models.Model):
    """A command a partner eMSP sent us (CPO), the charger command it became, its result."""

    command = models.CharField(max_length=20, choices=CommandType.choices)
    connection = models.ForeignKey(
        PartnerConnection, on_delete=models.PROTECT, related_name="commands_received"
    )
    emsp = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="commands_from")
    cpo = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="commands_taken", help_text="Ours."
    )
    response_url = models.CharField(max_length=255, editable=False)
    response = models.CharField(max_length=16, choices=CommandResponseType.choices)
    response_message = models.CharField(max_length=255, blank=True)
    charger_command = models.OneToOneField(
        ChargerCommand,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ocpi_command",
    )
    # START_SESSION: the token the session is to carry (we need not hold it, OCPI 2.2.1).
    token_country_code = models.CharField(max_length=2, blank=True)
    token_party_id = models.CharField(max_length=3, blank=True)
    token_uid = models.CharField("token uid", max_length=36, blank=True)
    token_type = models.CharField(max_length=12, choices=TokenType.choices, blank=True)
    token_contract_id = models.CharField("contract id", max_length=36, blank=True)
    authorization_reference = models.CharField(max_length=36, blank=True)
    location_id = models.CharField(max_length=36, blank=True)
    evse_uid = models.CharField("EVSE uid", max_length=36, blank=True)
    connector_id = models.CharField(max_length=36, blank=True)
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="ocpi_commands"
    )
    reservation = models.ForeignKey(
        Reservation, null=True, blank=True, on_delete=models.SET_NULL, related_name="commands"
    )
    result = models.CharField(max_length=20, choices=CommandResultType.choices, blank=True)
    result_message = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    result_queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When the result went to the outbox."
    )

    history = HistoricalRecords(get_user=history_user, excluded_fields=["response_url"])

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(response="ACCEPTED", result_queued_at__isnull=True),
                name="received_command_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_command_display()} from {self.emsp}: {self.result or self.response}"
