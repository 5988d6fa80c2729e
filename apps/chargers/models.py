"""Our own chargers over OCPP: the registry, connector mapping, transactions, commands, journal.

Protocol-neutral where it can be (a charger, its connectors, commands with their final states);
OCPP 1.6 vocabulary is kept in plain text columns (status, action, answer) so a 2.0.1 adapter
can write the same rows.
"""

from __future__ import annotations

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from simple_history.models import HistoricalRecords

from apps.locations.models import EVSE, Connector, Location
from apps.sessions.models import Session
from echargo.history import history_user


class Charger(models.Model):
    """One charge point that connects to our central system (`manage.py ocpp_server`)."""

    charge_point_id = models.CharField(
        "charge point id",
        max_length=48,
        unique=True,
        help_text="The last path segment of its URL: ws(s)://HOST/ocpp/<charge point id>.",
    )
    location = models.ForeignKey(
        Location,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="chargers",
        limit_choices_to={"own_cpo": True},
        help_text="One of our own locations; its owner owns the sessions.",
    )
    password_hash = models.CharField(max_length=128, blank=True, editable=False)
    lenient = models.BooleanField(
        default=False,
        help_text="Accept messages that break the OCPP schema (logged in the journal).",
    )
    # From BootNotification (facts the charger reports; staff do not edit them).
    vendor = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=20, blank=True)
    firmware_version = models.CharField(max_length=50, blank=True)
    serial_number = models.CharField("serial number", max_length=64, blank=True)
    charge_box_serial_number = models.CharField(max_length=64, blank=True)
    meter_type = models.CharField(max_length=25, blank=True)
    meter_serial_number = models.CharField(max_length=64, blank=True)
    iccid = models.CharField("ICCID", max_length=20, blank=True)
    imsi = models.CharField("IMSI", max_length=20, blank=True)
    protocol = models.CharField(max_length=16, blank=True, help_text="Negotiated subprotocol.")
    status = models.CharField(
        max_length=16, blank=True, help_text="OCPP status of the charger as a whole (connector 0)."
    )
    error_code = models.CharField(max_length=32, blank=True)
    last_boot_at = models.DateTimeField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_authorization = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="The last Authorize decision, reused by the StartTransaction that follows.",
    )
    connected = models.BooleanField(default=False)
    connected_since = models.DateTimeField(null=True, blank=True)
    connected_node = models.CharField(
        max_length=100,
        blank=True,
        editable=False,
        help_text="The ocpp_server process holding its connection: commands are routed there.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(
        get_user=history_user,
        excluded_fields=["last_heartbeat_at", "last_seen_at", "password_hash"],
    )

    class Meta:
        ordering = ["charge_point_id"]
        indexes = [models.Index(fields=["connected_node"], name="charger_node")]

    def __str__(self) -> str:
        return self.charge_point_id

    def set_password(self, raw_password: str) -> None:
        self.password_hash = make_password(raw_password)

    def check_password(self, raw_password: str) -> bool:
        return bool(self.password_hash) and check_password(raw_password, self.password_hash)


class ChargerConnector(models.Model):
    """OCPP connectorId (1, 2, ...) of a charger -> one of our EVSE / Connector records."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="connectors")
    connector_number = models.PositiveSmallIntegerField(
        "OCPP connectorId", help_text="1 and up; 0 is the charger itself."
    )
    evse = models.ForeignKey(EVSE, on_delete=models.PROTECT, related_name="charger_connectors")
    connector = models.ForeignKey(
        Connector, on_delete=models.PROTECT, related_name="charger_connectors"
    )
    ocpp_status = models.CharField("OCPP status", max_length=16, blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    status_at = models.DateTimeField(null=True, blank=True, help_text="Charger time of status.")

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        ordering = ["charger", "connector_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["charger", "connector_number"], name="charger_connector_number"
            ),
            models.CheckConstraint(
                condition=models.Q(connector_number__gte=1), name="charger_connector_from_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.charger_id} #{self.connector_number}"


class ChargerTransaction(models.Model):
    """One OCPP transaction: its id is the transactionId we hand the charger."""

    charger = models.ForeignKey(Charger, on_delete=models.PROTECT, related_name="transactions")
    connector_number = models.PositiveSmallIntegerField("OCPP connectorId")
    id_tag = models.CharField(max_length=20)
    meter_start = models.BigIntegerField(help_text="Wh, as the charger sent it.")
    started_at = models.DateTimeField(help_text="Charger time.")
    reservation_id = models.IntegerField(null=True, blank=True)
    # What we answered, so a retried StartTransaction gets the same answer.
    id_tag_status = models.CharField(max_length=16)
    session = models.OneToOneField(
        Session, null=True, blank=True, on_delete=models.PROTECT, related_name="charger_transaction"
    )
    meter_stop = models.BigIntegerField(null=True, blank=True, help_text="Wh.")
    stopped_at = models.DateTimeField(null=True, blank=True, help_text="Charger time.")
    stop_reason = models.CharField(max_length=32, blank=True)
    stop_id_tag_status = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            # A retried StartTransaction carries the same facts: it finds this row again.
            models.UniqueConstraint(
                fields=["charger", "connector_number", "started_at", "id_tag", "meter_start"],
                name="charger_transaction_start",
            )
        ]

    def __str__(self) -> str:
        return f"transaction {self.pk} on {self.charger_id} #{self.connector_number}"


class CommandStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent, waiting for the answer"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected by the charger"
    FAILED = "failed", "Failed"
    TIMEOUT = "timeout", "No answer in time"
    OFFLINE = "offline", "Charger offline"


FINAL_COMMAND_STATUSES = (
    CommandStatus.ACCEPTED,
    CommandStatus.REJECTED,
    CommandStatus.FAILED,
    CommandStatus.TIMEOUT,
    CommandStatus.OFFLINE,
)


class CommandAction(models.TextChoices):
    RESET_SOFT = "reset_soft", "Reset (soft reboot)"
    RESET_HARD = "reset_hard", "Reset (hard reboot)"
    UNLOCK_CONNECTOR = "unlock_connector", "Unlock connector"
    REMOTE_START = "remote_start", "Remote start"
    REMOTE_STOP = "remote_stop", "Remote stop"
    RESERVE_NOW = "reserve_now", "Reserve now"
    CANCEL_RESERVATION = "cancel_reservation", "Cancel reservation"
    CHANGE_AVAILABILITY = "change_availability", "Change availability"


class ChargerCommand(models.Model):
    """One command to a charger and its answer: queued by the web process (staff, OCPI
    commands), sent by the ocpp_server process that holds the charger's connection."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="commands")
    action = models.CharField(max_length=24, choices=CommandAction.choices)
    connector_number = models.PositiveSmallIntegerField("OCPP connectorId", null=True, blank=True)
    id_tag = models.CharField(max_length=20, blank=True, help_text="Remote start, reserve.")
    transaction_id = models.IntegerField(null=True, blank=True, help_text="Remote stop.")
    reservation_id = models.IntegerField(null=True, blank=True)
    expiry_date = models.DateTimeField(null=True, blank=True, help_text="Reserve now: until.")
    availability = models.CharField(
        max_length=12, blank=True, help_text="Change availability: Operative or Inoperative."
    )
    status = models.CharField(
        max_length=10, choices=CommandStatus.choices, default=CommandStatus.QUEUED
    )
    answer = models.CharField(max_length=64, blank=True, help_text="The charger's status.")
    detail = models.CharField(max_length=255, blank=True)
    requested_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["charger", "created_at"],
                condition=models.Q(status="queued"),
                name="charger_command_queued",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} on {self.charger_id}: {self.status}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_COMMAND_STATUSES


class JournalKind(models.TextChoices):
    CALL_IN = "call_in", "Call from charger"
    RESULT_OUT = "result_out", "Our answer"
    ERROR_OUT = "error_out", "Our CallError"
    CALL_OUT = "call_out", "Our call"
    RESULT_IN = "result_in", "Charger's answer"
    ERROR_IN = "error_in", "Charger's CallError"
    VIOLATION = "violation", "Protocol violation"
    CONNECTION = "connection", "Connection"


class ChargerMessage(models.Model):
    """The journal: what chargers sent and we answered, violations, connections (append-only,
    written in batches by apps/audit/log_writer like the OCPI exchange log)."""

    created_at = models.DateTimeField(db_index=True)
    charger = models.ForeignKey(
        Charger, null=True, blank=True, on_delete=models.SET_NULL, related_name="journal"
    )
    charge_point_id = models.CharField(max_length=48)
    kind = models.CharField(max_length=12, choices=JournalKind.choices)
    action = models.CharField(max_length=40, blank=True)
    unique_id = models.CharField(max_length=64, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True, help_text="The frame, cut to a few kB.")
    note = models.CharField(max_length=500, blank=True)
    needs_review = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["charger", "created_at"], name="charger_journal")]

    def __str__(self) -> str:
        return f"{self.charge_point_id} {self.kind} {self.action}".strip()
