"""Commands, eMSP side: we send START_SESSION, STOP_SESSION, UNLOCK_CONNECTOR, RESERVE_NOW and
CANCEL_RESERVATION to a partner CPO and follow each to its end.

A command's state machine (models.CommandState):

    queued --CommandResponse ACCEPTED--> waiting --CommandResult--> result
       |                                    '--no result by result_due_at--> timed_out (TIMEOUT)
       |--CommandResponse REJECTED / NOT_SUPPORTED / UNKNOWN_SESSION--> refused
       '--no usable CommandResponse (network, error envelope)--> unreachable

The CommandResponse is the synchronous answer to our POST, so the POST is made here with the
one OCPI client (short timeout, no retry: a command repeated by a retry could start two
sessions), not through the outbox. Each command gets its own response_url ending in a secret
of 192 bits; only its sha256 is stored, and the result is taken only from the connection the
command went to, once. The CPO side is apps/commands/cpo.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.audit.services import audit_event_record
from apps.locations.models import EVSE, Connector, Location
from apps.partners.clients import NoTokenToCallWith, partner_client
from apps.partners.models import PartnerConnection, Party, Role
from apps.sessions.models import Session, SessionStatus
from apps.tokens.models import Token
from echargo.history import change_reason_set
from echargo.ocpi.client import OcpiClientError
from echargo.ocpi.exceptions import InvalidParameters, UnknownObject
from echargo.ocpi.fields import format_ocpi_datetime
from echargo.ocpi.registry import public_url

from .models import (
    Command,
    CommandResponseType,
    CommandResultType,
    CommandState,
    CommandType,
)
from .wire import CommandResponseSerializer, first_text, token_object

logger = logging.getLogger(__name__)


def uid_hash(uid: str) -> str:
    return hashlib.sha256(uid.encode("utf-8", "surrogatepass")).hexdigest()


def _send_timeout() -> tuple[float, float]:
    # The CPO answers at once (OCPI: the CommandResponse is not the charger's answer).
    return (min(3.05, settings.COMMANDS_SEND_TIMEOUT), settings.COMMANDS_SEND_TIMEOUT)


def _our_emsp() -> Party | None:
    return Party.objects.filter(is_own=True, role=Role.EMSP).first()


def _cpo_connection(cpo: Party) -> tuple[PartnerConnection, str]:
    connection = cpo.connection
    if cpo.is_own or connection is None:
        raise ValidationError(f"{cpo} is not a partner CPO: commands go to partners only.")
    if connection.status != PartnerConnection.Status.CONNECTED:
        raise ValidationError(f"The connection {connection} is not connected.")
    url = connection.endpoint_url("commands", "RECEIVER")
    if not url:
        raise ValidationError(f"{connection} announces no commands receiver.")
    return connection, url


@transaction.atomic
def _command_create(*, command: str, cpo: Party, requested_by: str, **fields: Any) -> tuple:
    connection, _ = _cpo_connection(cpo)
    secret = secrets.token_urlsafe(24)
    path = reverse("ocpi-emsp-command-result", kwargs={"command": command, "uid": secret})
    response_url = public_url(path)
    row = Command(
        command=command,
        connection=connection,
        cpo=cpo,
        uid_hash=uid_hash(secret),
        # Kept without its secret: staff see where the result goes, nobody can replay it.
        response_url=response_url[: -len(secret)] + "…",
        requested_by=requested_by[:150],
        **fields,
    )
    change_reason_set(row, f"Requested by {requested_by or 'system'}")
    row.save()
    return row, response_url


def _body(row: Command, response_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {"response_url": response_url}
    if row.token is not None:  # START_SESSION, RESERVE_NOW
        body["token"] = token_object(row.token)
    if row.expiry_date is not None:  # RESERVE_NOW
        body["expiry_date"] = format_ocpi_datetime(row.expiry_date)
        body["reservation_id"] = row.reservation_id
    if row.command == CommandType.CANCEL_RESERVATION:
        body["reservation_id"] = row.reservation_id
    if row.command == CommandType.STOP_SESSION:
        body["session_id"] = row.session_ocpi_id
    if row.command != CommandType.STOP_SESSION and row.command != CommandType.CANCEL_RESERVATION:
        body["location_id"] = row.location_id
        for name in ("evse_uid", "connector_id", "authorization_reference"):
            if getattr(row, name):
                body[name] = getattr(row, name)
    return body


def _finish(row: Command, state: str, reason: str, **values: Any) -> None:
    now = timezone.now()
    row.state = state
    for name, value in values.items():
        setattr(row, name, value)
    if row.is_final:
        row.finished_at = now
    change_reason_set(row, reason)
    row.save()


def _deliver(row: Command, response_url: str) -> Command:
    """POST the command to the CPO and record its CommandResponse (outside any transaction:
    no lock is held while the partner answers)."""
    connection, base = _cpo_connection(row.cpo)
    url = f"{base.rstrip('/')}/{row.command}"
    our = _our_emsp()
    options: dict[str, Any] = {
        "timeout": _send_timeout(),
        "retries": False,
        "to_party": (row.cpo.country_code, row.cpo.party_id),
    }
    if our is not None:
        options["from_party"] = (our.country_code, our.party_id)
    Command.objects.filter(pk=row.pk).update(sent_at=timezone.now())
    error, data = "", {}
    try:
        with partner_client(connection, **options) as client:
            result = client.request("POST", url, body=_body(row, response_url), module="commands")
        answer = CommandResponseSerializer(data=result.data)
        if answer.is_valid():
            data = answer.validated_data
        else:
            error = f"The CPO's CommandResponse is not valid: {answer.errors}"
    except (OcpiClientError, NoTokenToCallWith) as exc:
        error = f"Not sent: {exc}"
    with transaction.atomic():
        row = Command.objects.select_for_update().get(pk=row.pk)
        now = timezone.now()
        if error:
            if not row.is_final:
                _finish(row, CommandState.UNREACHABLE, "Not sent", error=error[:512])
            return row
        response = {
            "response": data["result"],
            "response_timeout": data["timeout"],
            "response_message": first_text(data.get("message")),
            "responded_at": now,
        }
        if row.is_final:
            # The result overtook the answer (the charger was quicker than the CPO's reply).
            for name, value in response.items():
                setattr(row, name, value)
            change_reason_set(row, "CommandResponse after the result")
            row.save()
        elif data["result"] == CommandResponseType.ACCEPTED:
            due = now + dt.timedelta(seconds=data["timeout"] + settings.COMMANDS_RESULT_GRACE)
            _finish(row, CommandState.WAITING, "Accepted by the CPO", result_due_at=due, **response)
        else:
            _finish(row, CommandState.REFUSED, f"CPO answered {data['result']}", **response)
    return row


def _send(*, command: str, cpo: Party, requested_by: str, **fields: Any) -> Command:
    row, response_url = _command_create(
        command=command, cpo=cpo, requested_by=requested_by, **fields
    )
    return _deliver(row, response_url)


def _check_token(token: Token) -> None:
    if not token.owner.is_own or token.owner.role != Role.EMSP:
        # OCPI 2.2.1 mod_commands: an eMSP may only use its own tokens.
        raise ValidationError("Only our own drivers' tokens can start or reserve.")
    if not token.valid:
        raise ValidationError(f"Token {token.uid} is not valid.")


def _partner_evse(evse: EVSE) -> tuple[Location, Party]:
    location = evse.location
    if location.owner.is_own:
        raise ValidationError("That EVSE is ours: command our own chargers in the chargers admin.")
    return location, location.owner


def command_start_session(
    *, token: Token, evse: EVSE, connector: Connector | None = None, requested_by: str = ""
) -> Command:
    """START_SESSION for one of our tokens at a partner's EVSE; the Command as answered."""
    _check_token(token)
    location, cpo = _partner_evse(evse)
    return _send(
        command=CommandType.START_SESSION,
        cpo=cpo,
        requested_by=requested_by,
        token=token,
        location_id=location.location_id,
        evse_uid=evse.uid,
        connector_id=connector.connector_id if connector else "",
        # Echoed by the CPO into the Session and CDR: how we recognise the session it starts.
        authorization_reference=uuid.uuid4().hex,
    )


def command_stop_session(*, session: Session, requested_by: str = "") -> Command:
    """STOP_SESSION of a session of one of our drivers at a partner's station."""
    if session.owner.is_own:
        raise ValidationError("That session runs on our own charger: stop it there.")
    if session.status not in (SessionStatus.ACTIVE, SessionStatus.PENDING):
        raise ValidationError(f"The session is {session.status}, not running.")
    return _send(
        command=CommandType.STOP_SESSION,
        cpo=session.owner,
        requested_by=requested_by,
        session=session,
        session_ocpi_id=session.session_id,
        location_id=session.location_id,
        evse_uid=session.evse_uid,
    )


def command_unlock_connector(*, connector: Connector, requested_by: str = "") -> Command:
    """UNLOCK_CONNECTOR at a partner's EVSE (help-desk use only, OCPI 2.2.1)."""
    location, cpo = _partner_evse(connector.evse)
    return _send(
        command=CommandType.UNLOCK_CONNECTOR,
        cpo=cpo,
        requested_by=requested_by,
        location_id=location.location_id,
        evse_uid=connector.evse.uid,
        connector_id=connector.connector_id,
    )


def command_reserve_now(
    *, token: Token, evse: EVSE, expiry_date: dt.datetime, requested_by: str = ""
) -> Command:
    """RESERVE_NOW of a partner's EVSE for one of our tokens until `expiry_date`."""
    _check_token(token)
    if expiry_date <= timezone.now():
        raise ValidationError("A reservation ends in the future.")
    location, cpo = _partner_evse(evse)
    return _send(
        command=CommandType.RESERVE_NOW,
        cpo=cpo,
        requested_by=requested_by,
        token=token,
        location_id=location.location_id,
        evse_uid=evse.uid,
        expiry_date=expiry_date,
        reservation_id=uuid.uuid4().hex[:20],
        authorization_reference=uuid.uuid4().hex,
    )


def command_cancel_reservation(*, reservation: Command, requested_by: str = "") -> Command:
    """CANCEL_RESERVATION of a reservation we made (an accepted RESERVE_NOW command)."""
    if reservation.command != CommandType.RESERVE_NOW or reservation.result != "ACCEPTED":
        raise ValidationError("Only a reservation the CPO accepted can be canceled.")
    return _send(
        command=CommandType.CANCEL_RESERVATION,
        cpo=reservation.cpo,
        requested_by=requested_by,
        reservation_id=reservation.reservation_id,
        location_id=reservation.location_id,
        evse_uid=reservation.evse_uid,
    )


def command_result_from_partner(
    *, connection: PartnerConnection, command: str, uid: str, data: dict[str, Any]
) -> Command:
    """A CommandResult posted to a response_url of ours.

    Taken only for a command we sent, with this type, to this connection, and only once:
    anything else is UnknownObject (HTTP 404, the same for "no such command" and "not yours",
    so a partner learns nothing of other partners' commands) or 2001, and changes nothing.
    """
    with transaction.atomic():
        row = (
            Command.objects.select_for_update()
            .filter(uid_hash=uid_hash(uid), command=command, connection=connection)
            .first()
        )
        if row is None:
            raise UnknownObject("Unknown command.")
        if row.is_final:
            if row.state == CommandState.RESULT and row.result == data["result"]:
                return row  # the same result again (the CPO's retry): nothing changes
            raise InvalidParameters(f"This command is closed ({row.get_state_display()}).")
        _finish(
            row,
            CommandState.RESULT,
            f"CommandResult {data['result']}",
            result=data["result"],
            result_message=first_text(data.get("message")),
        )
    return row


def commands_expire() -> int:
    """Every command ends: waiting past the CPO's timeout (plus grace) -> TIMEOUT; queued and
    never answered (the sending process died) -> unreachable. How many ended."""
    now = timezone.now()
    never_sent = now - dt.timedelta(seconds=settings.COMMANDS_SEND_TIMEOUT * 2 + 60)
    ended = 0
    with transaction.atomic():
        rows = Command.objects.select_for_update(skip_locked=True).filter(
            Q(state=CommandState.WAITING, result_due_at__lt=now)
            | Q(state=CommandState.QUEUED, created_at__lt=never_sent)
        )
        for row in rows:
            if row.state == CommandState.WAITING:
                _finish(
                    row,
                    CommandState.TIMED_OUT,
                    "No result in time",
                    result=CommandResultType.TIMEOUT,
                    result_message=f"No CommandResult within {row.response_timeout} s.",
                )
            else:
                _finish(
                    row, CommandState.UNREACHABLE, "Never answered", error="No CommandResponse."
                )
            audit_event_record(
                connection_id=row.connection_id,
                verb="commands.expired",
                object_type="command",
                object_key=str(row.pk),
                message=f"{row.command} to {row.cpo} ended {row.state}.",
            )
            ended += 1
    return ended
