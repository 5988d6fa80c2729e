"""Commands, CPO side: a partner eMSP's command to one of our stations.

The receiver answers the CommandResponse at once (with the time within which the result will
come) and hands the command to the charger gateway (apps.chargers.services
charger_command_queue). The charger command always ends (answered, refused, offline, timed
out); apps.chargers.signals.charger_command_finished then tells us, and the CommandResult goes
to the eMSP's response_url through the outbox (retries, routing headers). A command we can
answer without a charger (an unknown reservation) gets its result through the outbox too.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.chargers.models import (
    Charger,
    ChargerCommand,
    ChargerConnector,
    ChargerTransaction,
    CommandAction,
    CommandStatus,
)
from apps.chargers.services import charger_command_queue
from apps.locations.models import Location
from apps.partners.models import PartnerConnection, Party, Role
from apps.partners.outbox import outbox_enqueue
from apps.sessions.models import Session, SessionStatus
from apps.sessions.services import CdrTokenInfo
from apps.tokens.models import AllowedType
from apps.tokens.selectors import token_of_partner
from apps.tokens.station_authorization import token_authorize_at_station
from echargo.history import change_reason_set
from echargo.ocpi.receiver import first_write_race_safe
from echargo.ocpi.routing import ci
from echargo.ocpi.status import OcpiStatus
from echargo.ocpi.urlguard import UnsafeUrl, check_partner_url

from .models import (
    CommandResponseType,
    CommandResultType,
    CommandType,
    ReceivedCommand,
    Reservation,
    ReservationStatus,
)
from .wire import display_text

logger = logging.getLogger(__name__)

REFUSING_DECISIONS = (
    AllowedType.BLOCKED,
    AllowedType.EXPIRED,
    AllowedType.NO_CREDIT,
    AllowedType.NOT_ALLOWED,
)
# OCPP idTag is CiString(20); an OCPI uid may be 36 long.
OCPP_ID_TAG_LENGTH = 20
# OCPI 2.2.1: an RFID tap within 15 minutes of the command is the remote start's tag.
REMOTE_START_WINDOW = dt.timedelta(minutes=15)


def result_timeout() -> int:
    """Seconds within which we post the result: the longest a charger command can stay open
    (not taken by a server in time -> offline; sent -> answered or timed out; the sweep)."""
    return int(settings.OCPP_COMMAND_OFFLINE_SECONDS + settings.OCPP_CALL_TIMEOUT * 2 + 10 + 10)


@dataclass
class Answer:
    """The CommandResponse, and the OCPI status code of the envelope that carries it."""

    result: str
    message: str = ""
    status_code: int = OcpiStatus.SUCCESS
    timeout: int = field(default_factory=result_timeout)

    def as_ocpi(self) -> dict[str, Any]:
        data: dict[str, Any] = {"result": self.result, "timeout": self.timeout}
        if self.message:
            data["message"] = display_text(self.message)
        return data


class _Refuse(Exception):
    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.message)
        self.answer = answer


def _refuse(message: str, result: str = CommandResponseType.REJECTED, **kw: Any) -> _Refuse:
    return _Refuse(Answer(result, message, **kw))


@dataclass(frozen=True)
class Caller:
    connection: PartnerConnection
    # The eMSP parties the call may speak for: the OCPI-from-* party, or all the connection's.
    emsps: list[Party]
    # The party an OCPI-to-* header addressed, if any.
    to_party: tuple[str, str] | None = None


def _emsp_of_token(caller: Caller, token: dict[str, Any]) -> Party:
    for party in caller.emsps:
        if party.country_code == ci(token["country_code"]) and party.party_id == ci(
            token["party_id"]
        ):
            return party
    # OCPI 2.2.1 mod_commands: an eMSP may only use its own tokens.
    raise _refuse("The token is not one of yours.")


def _location(caller: Caller, location_id: str) -> Location:
    rows = Location.objects.filter(own_cpo=True, location_key=ci(location_id)).select_related(
        "owner"
    )
    if caller.to_party:
        rows = rows.filter(country_code=ci(caller.to_party[0]), party_id=ci(caller.to_party[1]))
    location = rows.first()
    if location is None:
        # The spec's sequence diagram: unknown Location = 2003 with a REJECTED response.
        raise _refuse("Unknown location.", status_code=OcpiStatus.UNKNOWN_LOCATION)
    return location


def _mappings(location: Location, evse_uid: str | None, connector_id: str | None) -> list:
    rows = ChargerConnector.objects.select_related("charger", "evse", "connector").filter(
        evse__location=location
    )
    if evse_uid:
        rows = rows.filter(evse__uid_key=ci(evse_uid))
    if connector_id:
        rows = rows.filter(connector__connector_key=ci(connector_id))
    found = list(rows.order_by("charger_id", "connector_number"))
    if not found:
        raise _refuse("No charger serves that EVSE or connector.")
    return found


def _record(
    caller: Caller, command: str, emsp: Party, cpo: Party | None, data: dict, **kw: Any
) -> ReceivedCommand:
    row = ReceivedCommand(
        command=command,
        connection=caller.connection,
        emsp=emsp,
        cpo=cpo,
        response_url=data["response_url"],
        response=CommandResponseType.ACCEPTED,
        **kw,
    )
    change_reason_set(row, f"Received from {caller.connection}")
    row.save()
    return row


def _queue(row: ReceivedCommand, charger: Charger, action: str, **arguments: Any) -> None:
    row.charger_command = charger_command_queue(
        charger=charger,
        action=action,
        requested_by=f"ocpi:{row.connection.name}"[:150],
        **arguments,
    )
    row.save(update_fields=["charger_command"])


def _start_session(caller: Caller, data: dict[str, Any]) -> Answer:
    token = data["token"]
    emsp = _emsp_of_token(caller, token)
    location = _location(caller, data["location_id"])
    mappings = _mappings(location, data.get("evse_uid"), data.get("connector_id"))
    chargers = {m.charger_id for m in mappings}
    if not data.get("evse_uid") and len(chargers) > 1:
        raise _refuse("This location has several chargers: name the EVSE (evse_uid).")
    if len(token["uid"]) > OCPP_ID_TAG_LENGTH:
        raise _refuse("The token uid is longer than our chargers take (20 characters).")
    decision = token_authorize_at_station(
        uid=token["uid"],
        type=token["type"],
        location_id=location.location_id,
        evse_uid=data.get("evse_uid"),
        emsp=(emsp.country_code, emsp.party_id),
    )
    # OCPI 2.2.1: the eMSP authorized the token before sending. An explicit refusal (blocked,
    # expired, no credit) stands; an unknown token or an eMSP that does not answer does not.
    if decision.allowed in REFUSING_DECISIONS:
        raise _refuse(f"Token {decision.allowed}: {decision.detail}"[:255])
    mapping = mappings[0]
    with transaction.atomic():
        row = _record(
            caller,
            CommandType.START_SESSION,
            emsp,
            location.owner,
            data,
            token_country_code=emsp.country_code,
            token_party_id=emsp.party_id,
            token_uid=token["uid"],
            token_type=token["type"],
            token_contract_id=token["contract_id"],
            authorization_reference=data.get("authorization_reference") or "",
            location_id=location.location_id,
            evse_uid=mapping.evse.uid if data.get("evse_uid") else "",
            connector_id=mapping.connector.connector_id if data.get("connector_id") else "",
        )
        _queue(
            row,
            mapping.charger,
            CommandAction.REMOTE_START,
            id_tag=token["uid"],
            # Without an EVSE the charger chooses its connector (OCPP: connectorId optional).
            connector_number=mapping.connector_number if data.get("evse_uid") else None,
        )
    return Answer(CommandResponseType.ACCEPTED)


def _stop_session(caller: Caller, data: dict[str, Any]) -> Answer:
    session = (
        Session.objects.filter(owner__is_own=True, session_key=ci(data["session_id"]))
        .select_related("owner")
        .first()
    )
    if session is None:
        raise _refuse("Unknown session.", CommandResponseType.UNKNOWN_SESSION)
    emsp = next(
        (
            p
            for p in caller.emsps
            if (p.country_code, p.party_id) == (session.token_country_code, session.token_party_id)
        ),
        None,
    )
    if emsp is None:
        raise _refuse("The session is not one of your drivers'.")
    if session.status not in (SessionStatus.ACTIVE, SessionStatus.PENDING):
        raise _refuse(f"The session is {session.status}.")
    tx = ChargerTransaction.objects.filter(session=session).select_related("charger").first()
    if tx is None or tx.stopped_at is not None:
        raise _refuse("No running charger transaction for this session.")
    with transaction.atomic():
        row = _record(
            caller,
            CommandType.STOP_SESSION,
            emsp,
            session.owner,
            data,
            session=session,
            location_id=session.location_id,
            evse_uid=session.evse_uid,
        )
        _queue(row, tx.charger, CommandAction.REMOTE_STOP, transaction_id=tx.pk)
    return Answer(CommandResponseType.ACCEPTED)


def _unlock_connector(caller: Caller, data: dict[str, Any]) -> Answer:
    location = _location(caller, data["location_id"])
    mapping = _mappings(location, data["evse_uid"], data["connector_id"])[0]
    with transaction.atomic():
        row = _record(
            caller,
            CommandType.UNLOCK_CONNECTOR,
            caller.emsps[0],
            location.owner,
            data,
            location_id=location.location_id,
            evse_uid=mapping.evse.uid,
            connector_id=mapping.connector.connector_id,
        )
        _queue(
            row,
            mapping.charger,
            CommandAction.UNLOCK_CONNECTOR,
            connector_number=mapping.connector_number,
        )
    return Answer(CommandResponseType.ACCEPTED)


def _reserve_now(caller: Caller, data: dict[str, Any]) -> Answer:
    token = data["token"]
    emsp = _emsp_of_token(caller, token)
    location = _location(caller, data["location_id"])
    if not data.get("evse_uid"):
        raise _refuse("Name the EVSE: our chargers reserve one EVSE.", "NOT_SUPPORTED")
    if data["expiry_date"] <= timezone.now():
        raise _refuse("expiry_date is in the past.")
    if len(token["uid"]) > OCPP_ID_TAG_LENGTH:
        raise _refuse("The token uid is longer than our chargers take (20 characters).")
    mapping = _mappings(location, data["evse_uid"], None)[0]
    _reservation_write(caller, data, emsp, location, mapping)
    return Answer(CommandResponseType.ACCEPTED)


@first_write_race_safe  # two first RESERVE_NOWs of one reservation_id at once: one row
def _reservation_write(
    caller: Caller, data: dict[str, Any], emsp: Party, location: Location, mapping: Any
) -> None:
    token = data["token"]
    # Same eMSP, same location, same reservation_id: it replaces the reservation (OCPI).
    reservation = (
        Reservation.objects.select_for_update()
        .filter(emsp=emsp, location=location, reservation_key=ci(data["reservation_id"]))
        .first()
    ) or Reservation(emsp=emsp, location=location, reservation_id=data["reservation_id"])
    reservation.evse = mapping.evse
    reservation.token_uid = token["uid"]
    reservation.token_type = token["type"]
    reservation.token_contract_id = token["contract_id"]
    reservation.expiry_date = data["expiry_date"]
    reservation.authorization_reference = data.get("authorization_reference") or ""
    reservation.response_url = data["response_url"]
    reservation.status = ReservationStatus.PENDING
    change_reason_set(reservation, f"RESERVE_NOW from {caller.connection}")
    reservation.save()
    row = _record(
        caller,
        CommandType.RESERVE_NOW,
        emsp,
        location.owner,
        data,
        reservation=reservation,
        token_country_code=emsp.country_code,
        token_party_id=emsp.party_id,
        token_uid=token["uid"],
        token_type=token["type"],
        token_contract_id=token["contract_id"],
        authorization_reference=reservation.authorization_reference,
        location_id=location.location_id,
        evse_uid=mapping.evse.uid,
    )
    _queue(
        row,
        mapping.charger,
        CommandAction.RESERVE_NOW,
        connector_number=mapping.connector_number,
        id_tag=token["uid"],
        expiry_date=data["expiry_date"],
        # Our row's id, unique across eMSPs (OCPI: never the eMSP's id 1:1).
        reservation_id=reservation.pk,
    )


def _cancel_reservation(caller: Caller, data: dict[str, Any]) -> Answer:
    with transaction.atomic():
        reservation = (
            Reservation.objects.select_for_update()
            .select_related("evse", "location__owner", "emsp")
            .filter(
                emsp__in=caller.emsps,
                reservation_key=ci(data["reservation_id"]),
                status__in=(ReservationStatus.PENDING, ReservationStatus.ACTIVE),
            )
            .order_by("-pk")
            .first()
        )
        if reservation is None:
            cpo = Party.objects.filter(is_own=True, role=Role.CPO).order_by("pk").first()
            if cpo is None:
                raise _refuse("We are no CPO here.")
            row = _record(caller, CommandType.CANCEL_RESERVATION, caller.emsps[0], cpo, data)
            _result_queue(row, CommandResultType.UNKNOWN_RESERVATION, "Unknown reservation.")
            return Answer(CommandResponseType.ACCEPTED)
        mapping = _mappings(reservation.location, reservation.evse.uid, None)[0]
        row = _record(
            caller,
            CommandType.CANCEL_RESERVATION,
            reservation.emsp,
            reservation.location.owner,
            data,
            reservation=reservation,
            location_id=reservation.location.location_id,
            evse_uid=reservation.evse.uid,
        )
        _queue(
            row, mapping.charger, CommandAction.CANCEL_RESERVATION, reservation_id=reservation.pk
        )
    return Answer(CommandResponseType.ACCEPTED)


HANDLERS: dict[str, Callable[[Caller, dict[str, Any]], Answer]] = {
    CommandType.START_SESSION: _start_session,
    CommandType.STOP_SESSION: _stop_session,
    CommandType.UNLOCK_CONNECTOR: _unlock_connector,
    CommandType.RESERVE_NOW: _reserve_now,
    CommandType.CANCEL_RESERVATION: _cancel_reservation,
}


def command_receive_from_partner(*, caller: Caller, command: str, data: dict[str, Any]) -> Answer:
    """A partner eMSP's command (validated wire data): the CommandResponse to answer now."""
    try:
        check_partner_url(data["response_url"])
    except UnsafeUrl as exc:
        return Answer(CommandResponseType.REJECTED, f"response_url refused: {exc}"[:255])
    if not caller.emsps:
        return Answer(CommandResponseType.REJECTED, "This connection carries no eMSP.")
    try:
        return HANDLERS[command](caller, data)
    except _Refuse as refused:
        return refused.answer


# --- Results --------------------------------------------------------------------------------


def _result_of(row: ReceivedCommand, command: ChargerCommand) -> tuple[str, str]:
    """The charger command's end as an OCPI CommandResult and its message."""
    answer = command.answer
    if command.status == CommandStatus.ACCEPTED:
        return CommandResultType.ACCEPTED, ""
    if command.status == CommandStatus.OFFLINE:
        return CommandResultType.FAILED, "The charge point is offline."
    if command.status == CommandStatus.TIMEOUT:
        return CommandResultType.TIMEOUT, "The charge point did not answer in time."
    if answer == "Occupied":
        return CommandResultType.EVSE_OCCUPIED, ""
    if answer in ("Faulted", "Unavailable"):
        return CommandResultType.EVSE_INOPERATIVE, f"The charge point answered {answer}."
    if answer in ("NotSupported", "NotImplemented"):
        return CommandResultType.NOT_SUPPORTED, ""
    if row.command == CommandType.CANCEL_RESERVATION and answer == "Rejected":
        # OCPP CancelReservation is Rejected when the charger holds no such reservation.
        return CommandResultType.UNKNOWN_RESERVATION, ""
    if command.status == CommandStatus.FAILED:
        return CommandResultType.FAILED, command.detail or answer
    return CommandResultType.REJECTED, f"The charge point answered {answer or 'no'}."


def _result_queue(row: ReceivedCommand, result: str, message: str) -> None:
    """Record the result and queue its POST to the eMSP's response_url (in this transaction)."""
    row.result, row.result_message = result, message[:255]
    row.result_queued_at = timezone.now()
    change_reason_set(row, f"Result {result}")
    row.save()
    body: dict[str, Any] = {"result": result}
    if message:
        body["message"] = display_text(message)
    outbox_enqueue(
        connection=row.connection,
        module="commands",
        interface_role="SENDER",
        # From our CPO party (OCPI-from-*) to the eMSP that sent the command (OCPI-to-*).
        object_key=f"{row.cpo.country_code}/{row.cpo.party_id}/command/{row.pk}",
        method="POST",
        path=row.response_url,
        body=body,
        to_party=(row.emsp.country_code, row.emsp.party_id),
    )


# The charger no longer holds the reservation after either answer.
CANCELED_RESULTS = (CommandResultType.ACCEPTED, CommandResultType.UNKNOWN_RESERVATION)


def _reservation_follow(row: ReceivedCommand, result: str) -> None:
    reservation = row.reservation
    if reservation is None:
        return
    if row.command == CommandType.RESERVE_NOW:
        reservation.status = (
            ReservationStatus.ACTIVE if result == "ACCEPTED" else ReservationStatus.REFUSED
        )
    elif row.command == CommandType.CANCEL_RESERVATION and result in CANCELED_RESULTS:
        reservation.status = ReservationStatus.CANCELED
    else:
        return
    change_reason_set(reservation, f"{row.command}: {result}")
    reservation.save()


def received_command_settle(*, charger_command_id: int) -> ReceivedCommand | None:
    """The charger command of a partner's command ended: its CommandResult, once."""
    with transaction.atomic():
        row = (
            ReceivedCommand.objects.select_for_update(of=("self",))
            .select_related("charger_command", "connection", "emsp", "cpo", "reservation")
            .filter(charger_command_id=charger_command_id, result_queued_at__isnull=True)
            .first()
        )
        if row is None or row.charger_command is None or not row.charger_command.is_final:
            return None
        result, message = _result_of(row, row.charger_command)
        _reservation_follow(row, result)
        _result_queue(row, result, message)
    return row


def on_charger_command_finished(sender: Any, command: ChargerCommand, **kwargs: Any) -> None:
    """apps.chargers.signals.charger_command_finished receiver."""
    received_command_settle(charger_command_id=command.pk)


def on_remote_start_claimed(sender: Any, charger: Charger, id_tag: str, **kwargs: Any) -> Any:
    """apps.chargers.signals.remote_start_claimed receiver: a START_SESSION we forwarded for
    this tag gives the session its token (which we need not hold) and reference."""
    row = (
        ReceivedCommand.objects.select_related("emsp")
        .filter(
            command=CommandType.START_SESSION,
            charger_command__charger=charger,
            charger_command__status__in=(
                CommandStatus.QUEUED,
                CommandStatus.SENT,
                CommandStatus.ACCEPTED,
            ),
            token_uid__iexact=id_tag,
            created_at__gte=timezone.now() - REMOTE_START_WINDOW,
        )
        .order_by("-pk")
        .first()
    )
    if row is None:
        return None
    token = token_of_partner(owner=row.emsp, uid=row.token_uid, type=row.token_type)
    cdr_token = CdrTokenInfo(
        country_code=row.token_country_code,
        party_id=row.token_party_id,
        uid=row.token_uid,
        type=row.token_type,
        contract_id=row.token_contract_id,
        token=token,
    )
    return cdr_token, row.authorization_reference


def received_commands_sweep() -> int:
    """Safety net: a result whose signal was lost (the process stopped between the charger
    command's commit and its receiver) is queued now; reservations past their end expire."""
    settled = 0
    open_rows = ReceivedCommand.objects.filter(
        response=CommandResponseType.ACCEPTED,
        result_queued_at__isnull=True,
        charger_command__isnull=False,
        charger_command__finished_at__isnull=False,
    ).values_list("charger_command_id", flat=True)
    for charger_command_id in list(open_rows[:500]):
        if received_command_settle(charger_command_id=charger_command_id) is not None:
            settled += 1
    with transaction.atomic():
        for reservation in Reservation.objects.select_for_update(skip_locked=True).filter(
            Q(status=ReservationStatus.ACTIVE) | Q(status=ReservationStatus.PENDING),
            expiry_date__lt=timezone.now(),
        ):
            reservation.status = ReservationStatus.EXPIRED
            change_reason_set(reservation, "Expired")
            reservation.save()
    return settled
