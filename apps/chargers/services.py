"""Charger events into the domain, and the charger gateway for commands.

One function per charger event, in plain values (connector numbers, Wh, charger timestamps,
OCPI statuses): the protocol adapters (apps/chargers/ocpp16.py today, a 2.0.1 one beside it
later) translate their messages into these calls and the answers back. Everything here is
synchronous Django code; the asyncio server runs it through asgiref's sync_to_async.

`charger_command_queue` is the gateway: the admin and, later, the OCPI commands module queue a
command here and the ocpp_server process holding that charger's connection delivers it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.audit.services import audit_event_record, audit_row_append
from apps.locations.services import evse_status_set
from apps.partners.models import Party, Role
from apps.sessions.models import AuthMethod, Session
from apps.sessions.services import (
    CdrTokenInfo,
    MeterReading,
    session_charging_state_set,
    session_flag,
    session_meter_values,
    session_start_from_charger,
    session_stop_from_charger,
)
from apps.tokens.models import AllowedType, AuthorizationDecision, Token
from apps.tokens.selectors import token_own_for_tap
from apps.tokens.station_authorization import token_authorize_at_station
from echargo.history import change_reason_set
from echargo.ocpi.enums import TokenType
from echargo.ocpi.fields import format_ocpi_datetime

from .models import (
    Charger,
    ChargerCommand,
    ChargerConnector,
    ChargerMessage,
    ChargerTransaction,
    CommandAction,
    CommandStatus,
)
from .signals import charger_command_finished, remote_start_claimed

logger = logging.getLogger(__name__)

JOURNAL_MAX_CHARS = 4000
# An Authorize decision is reused by the StartTransaction that follows it within this time, so
# a driver's tap asks the eMSP once, not twice.
AUTHORIZATION_REUSE_SECONDS = 600
# OCPI 2.2.1 commands: an RFID tap within 15 minutes of a remote start for that token is not
# authorized again in real time.
REMOTE_START_WINDOW_SECONDS = 900


# --- Registry -------------------------------------------------------------------------------


@transaction.atomic
def charger_register(
    *,
    charge_point_id: str,
    password: str,
    location: Any = None,
    lenient: bool = False,
    connectors: Sequence[tuple[int, Any, Any]] = (),
) -> Charger:
    """Add a charger with its HTTP Basic password (stored hashed) and connector mapping
    [(connectorId, evse, connector), ...]."""
    if not charge_point_id or "/" in charge_point_id:
        raise ValidationError("A charge point id is one URL path segment.")
    if len(password) < 16:
        # OCPP 1.6 security whitepaper: AuthorizationKey is 16 to 40 bytes.
        raise ValidationError("An OCPP password has at least 16 characters.")
    charger = Charger(charge_point_id=charge_point_id, location=location, lenient=lenient)
    charger.set_password(password)
    change_reason_set(charger, "Registered by staff")
    charger.save()
    for number, evse, connector in connectors:
        charger_connector_map(charger=charger, number=number, evse=evse, connector=connector)
    return charger


def charger_connector_map(*, charger: Charger, number: int, evse: Any, connector: Any) -> None:
    """Map OCPP connectorId `number` of a charger to one of our EVSE / connector records."""
    if connector.evse_id != evse.pk:
        raise ValidationError("The connector must belong to that EVSE.")
    if charger.location_id is not None and evse.location_id != charger.location_id:
        raise ValidationError("The EVSE must be at the charger's location.")
    ChargerConnector.objects.update_or_create(
        charger=charger, connector_number=number, defaults={"evse": evse, "connector": connector}
    )


def charger_set_password(*, charger: Charger, password: str) -> Charger:
    """Give a charger a new HTTP Basic password (hashed with Django's password hashers)."""
    if len(password) < 16:
        raise ValidationError("An OCPP password has at least 16 characters.")
    charger.set_password(password)
    change_reason_set(charger, "Password changed by staff")
    charger.save(update_fields=["password_hash"])
    return charger


def charger_for_handshake(*, charge_point_id: str) -> Charger | None:
    """The charger a connection names in its URL (exact id), or None."""
    return Charger.objects.filter(charge_point_id=charge_point_id).first()


# --- Connections ------------------------------------------------------------------------------


def charger_connected(*, charger_id: int, node: str, protocol: str) -> None:
    """The charger holds a WebSocket to `node` now (a second connection replaced the first)."""
    now = timezone.now()
    Charger.objects.filter(pk=charger_id).update(
        connected=True, connected_node=node, connected_since=now, last_seen_at=now,
        protocol=protocol,
    )  # fmt: skip


def charger_disconnected(*, charger_id: int, node: str, since: dt.datetime | None) -> None:
    """The connection `node` held since `since` closed; a newer connection is left alone."""
    rows = Charger.objects.filter(pk=charger_id, connected_node=node)
    if since is not None:
        rows = rows.filter(connected_since__lte=since)
    rows.update(connected=False, connected_node="")


def charger_node_reset(*, node: str) -> int:
    """At server start: chargers that `node` held before it stopped are not connected."""
    return Charger.objects.filter(connected_node=node).update(connected=False, connected_node="")


def charger_seen(*, charger_id: int) -> None:
    Charger.objects.filter(pk=charger_id).update(last_seen_at=timezone.now())


# --- Journal ----------------------------------------------------------------------------------


def journal(
    *,
    charger_id: int | None,
    charge_point_id: str,
    kind: str,
    action: str = "",
    unique_id: str = "",
    error_code: str = "",
    message: str = "",
    note: str = "",
    needs_review: bool = False,
) -> None:
    """Append one journal row (batched; see apps/audit/log_writer)."""
    audit_row_append(
        ChargerMessage,
        created_at=timezone.now(),
        charger_id=charger_id,
        charge_point_id=charge_point_id[:48],
        kind=kind,
        action=action[:40],
        unique_id=str(unique_id)[:64],
        error_code=error_code[:40],
        message=message[:JOURNAL_MAX_CHARS],
        note=note[:500],
        needs_review=needs_review,
    )


# --- Events -----------------------------------------------------------------------------------


def charger_boot(*, charger_id: int, facts: dict[str, str]) -> int:
    """BootNotification: store what the charger says it is; the heartbeat interval (s)."""
    charger = Charger.objects.get(pk=charger_id)
    allowed = {
        "vendor": 20,
        "model": 20,
        "firmware_version": 50,
        "serial_number": 64,
        "charge_box_serial_number": 64,
        "meter_type": 25,
        "meter_serial_number": 64,
        "iccid": 20,
        "imsi": 20,
    }
    # A lenient charger may send longer values than the schema allows: kept, cut to our columns.
    changed = False
    for name, limit in allowed.items():
        value = (facts.get(name) or "")[:limit]
        if getattr(charger, name) != value:
            setattr(charger, name, value)
            changed = True
    now = timezone.now()
    charger.last_boot_at = charger.last_seen_at = now
    if changed:
        change_reason_set(charger, "BootNotification")
        charger.save()
    else:
        Charger.objects.filter(pk=charger_id).update(last_boot_at=now, last_seen_at=now)
    return settings.OCPP_HEARTBEAT_INTERVAL


def charger_heartbeat(*, charger_id: int) -> dt.datetime:
    """Heartbeat: the charger is alive; our current time for its clock."""
    now = timezone.now()
    Charger.objects.filter(pk=charger_id).update(last_heartbeat_at=now, last_seen_at=now)
    return now


def _mapping(charger_id: int, number: int) -> ChargerConnector | None:
    return (
        ChargerConnector.objects.select_related("evse__location__owner", "connector")
        .filter(charger_id=charger_id, connector_number=number)
        .first()
    )


def _open_transaction(charger_id: int, number: int) -> ChargerTransaction | None:
    return (
        ChargerTransaction.objects.select_related("session")
        .filter(charger_id=charger_id, connector_number=number, stopped_at__isnull=True)
        .order_by("-pk")
        .first()
    )


def charger_status(
    *,
    charger_id: int,
    connector_number: int,
    charger_status: str,
    error_code: str,
    evse_status: str | None,
    charging_state: str | None,
    at: dt.datetime,
) -> str:
    """StatusNotification: our EVSE's OCPI status (pushed to partners by the locations outbox)
    and, during a transaction, whether the vehicle is charging or parked. A note for the journal
    ("" when all went as expected)."""
    if connector_number == 0:
        Charger.objects.filter(pk=charger_id).update(
            status=charger_status[:16], error_code=error_code[:32], last_seen_at=timezone.now()
        )
        return ""
    mapping = _mapping(charger_id, connector_number)
    if mapping is None:
        return f"Connector {connector_number} is not mapped to one of our EVSEs."
    if mapping.status_at is not None and at < mapping.status_at:
        # A buffered status older than the one we hold: the newer one stays in force.
        return "Older than the status in force; kept for the journal only."
    mapping.ocpp_status, mapping.error_code, mapping.status_at = charger_status, error_code, at
    change_reason_set(mapping, f"StatusNotification {charger_status}")
    mapping.save()
    if evse_status is not None and mapping.evse.status != evse_status:
        evse_status_set(
            location=mapping.evse.location,
            evse_uid=mapping.evse.uid,
            status=evse_status,
            reason=f"Charger {charger_id} connector {connector_number}: {charger_status}",
        )
    if charging_state is not None:
        open_tx = _open_transaction(charger_id, connector_number)
        if open_tx is not None and open_tx.session is not None:
            session_charging_state_set(session=open_tx.session, state=charging_state, at=at)
    return ""


@dataclass(frozen=True)
class Authorization:
    """A decision on a token at one of our chargers (protocol-neutral)."""

    allowed: str  # AllowedType, or "" for an unknown token
    auth_method: str
    authorization_reference: str
    cdr_token: CdrTokenInfo | None
    detail: str

    @property
    def may_charge(self) -> bool:
        return self.allowed == AllowedType.ALLOWED

    def as_json(self) -> dict[str, Any]:
        token = self.cdr_token
        return {
            "allowed": self.allowed,
            "auth_method": self.auth_method,
            "authorization_reference": self.authorization_reference,
            "detail": self.detail,
            "token": None
            if token is None
            else {
                "country_code": token.country_code,
                "party_id": token.party_id,
                "uid": token.uid,
                "type": token.type,
                "contract_id": token.contract_id,
                "token_id": token.token.pk if token.token else None,
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Authorization:
        token = data.get("token")
        cdr_token = None
        if token:
            row = Token.objects.filter(pk=token["token_id"]).first() if token["token_id"] else None
            cdr_token = CdrTokenInfo(
                **{k: v for k, v in token.items() if k != "token_id"}, token=row
            )
        return cls(
            allowed=data["allowed"],
            auth_method=data["auth_method"],
            authorization_reference=data["authorization_reference"],
            cdr_token=cdr_token,
            detail=data["detail"],
        )


def _cdr_token(token: Token) -> CdrTokenInfo:
    return CdrTokenInfo(
        country_code=token.country_code,
        party_id=token.party_id,
        uid=token.uid,
        type=token.type,
        contract_id=token.contract_id,
        token=token,
    )


def _remote_start_pending(charger_id: int, id_tag: str) -> bool:
    since = timezone.now() - dt.timedelta(seconds=REMOTE_START_WINDOW_SECONDS)
    return ChargerCommand.objects.filter(
        charger_id=charger_id,
        action=CommandAction.REMOTE_START,
        status=CommandStatus.ACCEPTED,
        id_tag__iexact=id_tag,
        finished_at__gte=since,
    ).exists()


def _remote_start_claim(charger: Charger, id_tag: str) -> Authorization | None:
    """The token of a remote start a floor above made for this tag (see signals.py), if any."""
    for _receiver, answer in remote_start_claimed.send_robust(
        sender=Charger, charger=charger, id_tag=id_tag
    ):
        if isinstance(answer, Exception):
            logger.error("A remote_start_claimed receiver failed: %r", answer)
        elif answer is not None:
            cdr_token, reference = answer
            return Authorization(
                AllowedType.ALLOWED, AuthMethod.COMMAND, reference, cdr_token, "Remote start."
            )
    return None


def _decide(charger: Charger, id_tag: str, evse_uid: str | None) -> Authorization:
    own = token_own_for_tap(uid=id_tag, type=TokenType.RFID)
    if own is not None:
        # Our own driver: decided here, no eMSP to ask.
        allowed = AllowedType.ALLOWED if own.valid else AllowedType.BLOCKED
        return Authorization(allowed, AuthMethod.WHITELIST, "", _cdr_token(own), "Our own token.")
    claimed = _remote_start_claim(charger, id_tag)
    if claimed is not None:
        return claimed
    if _remote_start_pending(charger.pk, id_tag):
        return Authorization(
            AllowedType.ALLOWED, AuthMethod.COMMAND, "", None, "Started by a remote command."
        )
    location_id = charger.location.location_id if charger.location else ""
    decision = token_authorize_at_station(
        uid=id_tag, type=TokenType.RFID, location_id=location_id, evse_uid=evse_uid
    )
    method = (
        AuthMethod.AUTH_REQUEST
        if decision.source == AuthorizationDecision.Source.REALTIME
        else AuthMethod.WHITELIST
    )
    token = decision.token
    return Authorization(
        allowed=decision.allowed,
        auth_method=method,
        authorization_reference=decision.authorization_reference,
        cdr_token=_cdr_token(token) if token else None,
        detail=decision.detail,
    )


def charger_authorize(*, charger_id: int, id_tag: str) -> Authorization:
    """Authorize: our own tokens locally, partners' by whitelist rule and real-time request."""
    charger = Charger.objects.select_related("location").get(pk=charger_id)
    decision = _decide(charger, id_tag, None)
    Charger.objects.filter(pk=charger_id).update(
        last_authorization={
            "id_tag": id_tag.upper(),
            "at": timezone.now().isoformat(),
            "decision": decision.as_json(),
        }
    )
    return decision


def _reused_authorization(charger: Charger, id_tag: str) -> Authorization | None:
    last = charger.last_authorization or {}
    if last.get("id_tag") != id_tag.upper():
        return None
    at = dt.datetime.fromisoformat(last["at"])
    if (timezone.now() - at).total_seconds() > AUTHORIZATION_REUSE_SECONDS:
        return None
    return Authorization.from_json(last["decision"])


@dataclass(frozen=True)
class StartOutcome:
    transaction_id: int
    allowed: str
    note: str = ""


def _fallback_token(owner: Party, id_tag: str) -> CdrTokenInfo:
    # OCPI needs a CdrToken even for a token nobody knows; it names our own eMSP party (or the
    # CPO when we have none) and the tag as read.
    emsp = Party.objects.filter(is_own=True, role=Role.EMSP).first() or owner
    return CdrTokenInfo(
        country_code=emsp.country_code,
        party_id=emsp.party_id,
        uid=id_tag,
        type=TokenType.RFID,
        contract_id=id_tag,
    )


def charger_transaction_start(
    *,
    charger_id: int,
    connector_number: int,
    id_tag: str,
    meter_start_wh: int,
    started_at: dt.datetime,
    reservation_id: int | None = None,
) -> StartOutcome:
    """StartTransaction: a transaction id and the token decision; opens our Session.

    A retry of the same start (same connector, tag, meter and time: the charger lost our
    answer) gets the same transaction id and decision and opens nothing new.
    """
    existing = ChargerTransaction.objects.filter(
        charger_id=charger_id,
        connector_number=connector_number,
        started_at=started_at,
        id_tag=id_tag,
        meter_start=meter_start_wh,
    ).first()
    if existing is not None:
        return StartOutcome(existing.pk, existing.id_tag_status, "Repeated StartTransaction.")
    charger = Charger.objects.select_related("location__owner").get(pk=charger_id)
    mapping = _mapping(charger_id, connector_number)
    decision = _reused_authorization(charger, id_tag) or _decide(
        charger, id_tag, mapping.evse.uid if mapping else None
    )
    try:
        with transaction.atomic():
            tx = ChargerTransaction.objects.create(
                charger=charger,
                connector_number=connector_number,
                id_tag=id_tag,
                meter_start=meter_start_wh,
                started_at=started_at,
                reservation_id=reservation_id,
                id_tag_status=decision.allowed,
            )
            note = ""
            if mapping is None:
                note = f"Connector {connector_number} is not mapped: no session opened."
            else:
                owner = mapping.evse.location.owner
                tx.session = session_start_from_charger(
                    owner=owner,
                    location=mapping.evse.location,
                    evse=mapping.evse,
                    connector=mapping.connector,
                    started_at=started_at,
                    meter_start_wh=Decimal(meter_start_wh),
                    cdr_token=decision.cdr_token or _fallback_token(owner, id_tag),
                    auth_method=decision.auth_method,
                    authorization_reference=decision.authorization_reference,
                    allowed=decision.may_charge,
                    meter_id=charger.meter_serial_number,
                )
                tx.save(update_fields=["session"])
    except IntegrityError:
        # The same start arrived twice at once (two connections of one charger).
        existing = ChargerTransaction.objects.get(
            charger_id=charger_id,
            connector_number=connector_number,
            started_at=started_at,
            id_tag=id_tag,
            meter_start=meter_start_wh,
        )
        return StartOutcome(existing.pk, existing.id_tag_status, "Repeated StartTransaction.")
    return StartOutcome(tx.pk, decision.allowed, note)


# SQL, not a queryset: it runs for every MeterValues, and compiling cost more than the lookup.
_SESSION_OF_TRANSACTION = (
    f"SELECT session_id FROM {ChargerTransaction._meta.db_table}"  # noqa: S608 (model metadata)
    " WHERE id = %s AND charger_id = %s"
)


def charger_meter_values(
    *,
    charger_id: int,
    connector_number: int,
    transaction_id: int | None,
    readings: list[MeterReading],
) -> str:
    """MeterValues: readings into the transaction's session. A journal note, "" if none."""
    if not readings:
        return ""
    if transaction_id is not None:
        # The hot path of a charging session: only the session's id here, its row is read
        # (and locked) once, by the sessions service.
        with connection.cursor() as cursor:
            cursor.execute(_SESSION_OF_TRANSACTION, [transaction_id, charger_id])
            found = cursor.fetchone()
        if found is None:
            return f"MeterValues for unknown transaction {transaction_id}."
        session_id = found[0]
    else:
        # Clock-aligned values often carry no transactionId: the connector's open transaction.
        tx = _open_transaction(charger_id, connector_number)
        if tx is None:
            return ""
        session_id = tx.session_id
    if session_id is None:
        return ""
    session_meter_values(session=Session(pk=session_id), readings=readings)
    return ""


@dataclass(frozen=True)
class StopOutcome:
    allowed: str | None  # the id tag decision when the stop named one
    note: str = ""
    needs_review: bool = False


def charger_transaction_stop(
    *,
    charger_id: int,
    transaction_id: int,
    meter_stop_wh: int,
    stopped_at: dt.datetime,
    reason: str = "",
    id_tag: str | None = None,
    readings: Sequence[MeterReading] = (),
) -> StopOutcome:
    """StopTransaction: close the session. Always accepted (OCPP: the charger has stopped);
    an unknown transaction is flagged for staff, a repeated stop changes nothing."""
    tx = (
        ChargerTransaction.objects.select_related("session")
        .filter(pk=transaction_id, charger_id=charger_id)
        .first()
    )
    allowed: str | None = None
    if id_tag:
        allowed = AllowedType.ALLOWED
        if tx is None or tx.id_tag.upper() != id_tag.upper():
            charger = Charger.objects.select_related("location").get(pk=charger_id)
            allowed = _decide(charger, id_tag, None).allowed
    if tx is None:
        note = (
            f"StopTransaction for unknown transaction {transaction_id} "
            f"({meter_stop_wh} Wh at {format_ocpi_datetime(stopped_at)}, reason {reason or '-'})."
        )
        audit_event_record(
            verb="charger.unknown_transaction",
            object_type="charger",
            object_key=str(charger_id),
            message=note,
        )
        return StopOutcome(allowed, note, needs_review=True)
    if tx.stopped_at is not None:
        if tx.stopped_at == stopped_at and tx.meter_stop == meter_stop_wh:
            return StopOutcome(tx.stop_id_tag_status or allowed, "Repeated StopTransaction.")
        note = (
            f"Second StopTransaction for transaction {tx.pk} with other facts "
            f"({meter_stop_wh} Wh at {format_ocpi_datetime(stopped_at)}): ignored."
        )
        if tx.session is not None:
            session_flag(session=tx.session, note=note)
        return StopOutcome(tx.stop_id_tag_status or allowed, note, needs_review=True)
    with transaction.atomic():
        tx.meter_stop, tx.stopped_at, tx.stop_reason = meter_stop_wh, stopped_at, reason[:32]
        tx.stop_id_tag_status = allowed or ""
        tx.save()
        if tx.session is not None:
            session_stop_from_charger(
                session=tx.session,
                stopped_at=stopped_at,
                meter_stop_wh=Decimal(meter_stop_wh),
                reason=reason,
                readings=list(readings),
            )
    return StopOutcome(allowed)


def charger_session(*, transaction_id: int) -> Session | None:
    tx = ChargerTransaction.objects.select_related("session").filter(pk=transaction_id).first()
    return tx.session if tx else None


# --- Commands (the charger gateway) -----------------------------------------------------------

REQUIRED_ARGUMENTS: dict[str, tuple[str, ...]] = {
    CommandAction.RESET_SOFT: (),
    CommandAction.RESET_HARD: (),
    CommandAction.UNLOCK_CONNECTOR: ("connector_number",),
    CommandAction.REMOTE_START: ("id_tag",),
    CommandAction.REMOTE_STOP: ("transaction_id",),
    CommandAction.RESERVE_NOW: ("connector_number", "id_tag", "expiry_date", "reservation_id"),
    CommandAction.CANCEL_RESERVATION: ("reservation_id",),
    CommandAction.CHANGE_AVAILABILITY: ("connector_number", "availability"),
}


def _notify(charger: Charger) -> None:
    """Wake the ocpp_server processes now (they also poll, so a lost wake-up only delays)."""
    if not settings.REDIS_URL:
        return
    try:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1)
        client.publish(COMMAND_CHANNEL, charger.connected_node or "*")
    except Exception:
        logger.warning("Could not publish the command wake-up; the server's poll will find it.")


COMMAND_CHANNEL = "echargo:ocpp:commands"


def _tell_finished_on_commit(command: ChargerCommand) -> None:
    """Send charger_command_finished once the transaction that finished `command` commits."""

    def send() -> None:
        for _receiver, answer in charger_command_finished.send_robust(
            sender=ChargerCommand, command=command
        ):
            if isinstance(answer, Exception):
                logger.error("A charger_command_finished receiver failed: %r", answer)

    transaction.on_commit(send)


def charger_command_queue(
    *,
    charger: Charger,
    action: str,
    requested_by: str = "",
    connector_number: int | None = None,
    id_tag: str = "",
    transaction_id: int | None = None,
    reservation_id: int | None = None,
    expiry_date: dt.datetime | None = None,
    availability: str = "",
) -> ChargerCommand:
    """Queue a command for a charger; the ocpp_server holding its connection sends it.

    The command ends in a final state in every case: `offline` at once when the charger is not
    connected, or later when no server took it within OCPP_COMMAND_OFFLINE_SECONDS; `timeout`
    when the charger does not answer in OCPP_CALL_TIMEOUT.
    """
    if action not in CommandAction.values:
        raise ValidationError(f"Unknown command {action}.")
    values = {
        "connector_number": connector_number,
        "id_tag": id_tag,
        "transaction_id": transaction_id,
        "reservation_id": reservation_id,
        "expiry_date": expiry_date,
        "availability": availability,
    }
    missing = [name for name in REQUIRED_ARGUMENTS[action] if values[name] in (None, "")]
    if missing:
        raise ValidationError(f"{CommandAction(action).label} needs {', '.join(missing)}.")
    if availability and availability not in ("Operative", "Inoperative"):
        raise ValidationError("Availability is Operative or Inoperative.")
    charger.refresh_from_db(fields=["connected", "connected_node"])
    command = ChargerCommand(charger=charger, action=action, requested_by=requested_by, **values)
    if not charger.connected:
        command.status = CommandStatus.OFFLINE
        command.detail = "The charger is not connected."
        command.finished_at = timezone.now()
    change_reason_set(command, f"Queued by {requested_by or 'system'}")
    command.save()
    if command.status == CommandStatus.QUEUED:
        transaction.on_commit(lambda: _notify(charger))
    else:
        _tell_finished_on_commit(command)
    return command


def charger_commands_claim(*, node: str, limit: int = 100) -> list[ChargerCommand]:
    """The queued commands for chargers that `node` holds, marked sent and claimed by it.

    Rows are locked with SKIP LOCKED, so two servers (or a server and the sweeper) never take
    the same command."""
    with transaction.atomic():
        rows = (
            ChargerCommand.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("charger")
            .filter(status=CommandStatus.QUEUED, charger__connected_node=node)
            .order_by("created_at", "pk")[:limit]
        )
        commands = list(rows)
        now = timezone.now()
        for command in commands:
            command.status = CommandStatus.SENT
            command.claimed_by = node
            command.sent_at = now
            change_reason_set(command, f"Sent by {node}")
            command.save(update_fields=["status", "claimed_by", "sent_at"])
    return commands


def charger_command_finish(
    *, command_id: int, status: str, answer: str = "", detail: str = ""
) -> ChargerCommand:
    """Record a command's final state and the charger's answer."""
    with transaction.atomic():
        command = ChargerCommand.objects.select_for_update().get(pk=command_id)
        if command.is_final:
            return command
        command.status, command.answer, command.detail = status, answer[:64], detail[:255]
        command.finished_at = timezone.now()
        change_reason_set(command, f"Finished: {status}")
        command.save()
        _tell_finished_on_commit(command)
    return command


def charger_commands_expire() -> int:
    """Give every stuck command a final state: queued ones whose charger is gone or that no
    server took in time become `offline`; sent ones left by a server that died, `timeout`."""
    now = timezone.now()
    offline_after = dt.timedelta(seconds=settings.OCPP_COMMAND_OFFLINE_SECONDS)
    # A server sends within one poll; a sent command is answered within the call timeout.
    sent_after = dt.timedelta(seconds=settings.OCPP_CALL_TIMEOUT * 2 + 10)
    finished = 0
    with transaction.atomic():
        stuck = ChargerCommand.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            Q(status=CommandStatus.QUEUED, created_at__lt=now - offline_after)
            | Q(status=CommandStatus.QUEUED, charger__connected=False)
            | Q(status=CommandStatus.SENT, sent_at__lt=now - sent_after)
        )
        for command in stuck:
            if command.status == CommandStatus.QUEUED:
                command.status = CommandStatus.OFFLINE
                command.detail = "The charger was not connected to any server in time."
            else:
                command.status = CommandStatus.TIMEOUT
                command.detail = "The server that sent it stopped before the answer."
            command.finished_at = now
            change_reason_set(command, "Expired")
            command.save()
            _tell_finished_on_commit(command)
            finished += 1
    return finished
