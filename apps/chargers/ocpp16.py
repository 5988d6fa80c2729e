"""The OCPP 1.6J protocol adapter: charger messages -> apps/chargers/services.py, and back.

All OCPP 1.6 vocabulary lives here (status names, idTagInfo, measurands, CallError codes): the
services take plain values, so a 2.0.1 adapter (the `ocpp` library's v201 ChargePoint) can sit
beside this one without touching them.

The library's ChargePoint validates, routes and answers; this subclass changes three things:
- every frame is journaled, and a frame the library would only log (not JSON, not an OCPP
  array) gets the CallError OCPP 1.6 names (section 4.2.3) instead of silence;
- schema validation runs here, before routing, so a charger staff marked lenient is served
  despite a violation (with a note in the journal) and a strict one gets the CallError;
- the library's error codes are the 2.0 spellings; 1.6 spells two of them differently.
Handlers never call the charger (the library's receive loop would deadlock waiting for the
answer it is supposed to read); commands go out from the server's per-charger worker.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from ocpp.exceptions import FormatViolationError, OCPPError
from ocpp.messages import CallError, MessageType, _validate_payload, unpack
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import (
    Action,
    AuthorizationStatus,
    AvailabilityType,
    RegistrationStatus,
    ResetType,
)

from apps.locations.models import Status
from apps.sessions.models import ChargingState
from apps.sessions.services import MeterReading
from apps.tokens.models import AllowedType

from . import services
from .models import ChargerCommand, CommandAction, CommandStatus, JournalKind

logger = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp1.6"

# OCPP 1.6 ChargePointStatus -> OCPI 2.2.1 EVSE Status. OCPI: CHARGING is "the EVSE is in use",
# which covers a plugged-in car preparing, charging, suspended or finishing.
OCPI_STATUS = {
    "Available": Status.AVAILABLE,
    "Preparing": Status.CHARGING,
    "Charging": Status.CHARGING,
    "SuspendedEV": Status.CHARGING,
    "SuspendedEVSE": Status.CHARGING,
    "Finishing": Status.CHARGING,
    "Reserved": Status.RESERVED,
    "Unavailable": Status.INOPERATIVE,
    "Faulted": Status.OUTOFORDER,
}
# Whether the vehicle requests power (OCPI 2.2.1 erratum: PARKING_TIME is time the vehicle is
# not requesting power). SuspendedEVSE is the station throttling a car that still wants power:
# charging. SuspendedEV and Finishing after charging: the car is full or done, parking.
CHARGING_STATE = {
    "Charging": ChargingState.CHARGING,
    "SuspendedEVSE": ChargingState.CHARGING,
    "SuspendedEV": ChargingState.PARKING,
    "Finishing": ChargingState.PARKING,
}
ID_TAG_STATUS = {
    AllowedType.ALLOWED: AuthorizationStatus.accepted,
    AllowedType.BLOCKED: AuthorizationStatus.blocked,
    AllowedType.EXPIRED: AuthorizationStatus.expired,
}
# The library raises 2.0 names; OCPP 1.6J section 4.2.3 spells these two differently.
ERROR_CODE_16 = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}
ENERGY_REGISTER = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"


@dataclass(frozen=True)
class ChargerRef:
    """What a connection knows of its charger, read once at the handshake."""

    pk: int
    charge_point_id: str
    lenient: bool


class Workers:
    """The threads database work runs in, one connection each. Two pools: calls that may wait
    on a partner (a real-time authorization, up to TOKENS_REALTIME_TIMEOUT) get their own, so a
    slow eMSP never holds up MeterValues and heartbeats; the fast pool stays small, because
    more threads than the database can overlap only fight over the GIL (bench_ocpp: 8 -> 2
    threads took MeterValues from ~450/s to ~600/s)."""

    fast: ThreadPoolExecutor | None = None
    partner: ThreadPoolExecutor | None = None

    @classmethod
    def get(cls, partner: bool) -> ThreadPoolExecutor:
        if cls.fast is None:
            if connection.vendor == "sqlite":
                # SQLite (the demo) takes one writer at a time: one thread, no lock errors.
                cls.fast = cls.partner = ThreadPoolExecutor(1, "ocpp-db")
            else:
                cls.fast = ThreadPoolExecutor(settings.OCPP_DB_THREADS, "ocpp-db")
                cls.partner = ThreadPoolExecutor(settings.OCPP_PARTNER_THREADS, "ocpp-partner")
        return cls.partner if partner else cls.fast  # type: ignore[return-value]

    @classmethod
    def all(cls) -> list[tuple[ThreadPoolExecutor, int]]:
        """Each pool with its number of threads."""
        if cls.fast is None:
            return []
        if cls.partner is cls.fast:
            return [(cls.fast, cls.fast._max_workers)]
        return [(cls.fast, settings.OCPP_DB_THREADS), (cls.partner, settings.OCPP_PARTNER_THREADS)]


async def db(function: Any, /, *, partner: bool = False, **kwargs: Any) -> Any:
    """Run a synchronous service in a worker thread: the event loop never waits on the DB.
    `partner`: the call may wait on a partner's answer (token authorization)."""
    executor = Workers.get(partner)
    return await sync_to_async(_in_thread, thread_sensitive=False, executor=executor)(
        function, kwargs
    )


def _in_thread(function: Any, kwargs: dict[str, Any]) -> Any:
    # Worker threads keep their database connection between calls; drop one that is broken
    # or older than CONN_MAX_AGE, as Django does around each request.
    close_old_connections()
    return function(**kwargs)


def error_code_16(code: str) -> str:
    return ERROR_CODE_16.get(code, code)


def parse_time(value: Any) -> dt.datetime:
    """An OCPP dateTime as an aware UTC datetime (no offset read as UTC)."""
    moment = dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _unique_id_of(raw: Any) -> str:
    # OCPP-J: when a frame is too broken to read its uniqueId, the CallError carries "-1".
    try:
        frame = json.loads(raw)
        if isinstance(frame, list) and len(frame) > 1 and isinstance(frame[1], str):
            return frame[1]
    except (ValueError, TypeError):
        pass
    return "-1"


def _number(text: Any) -> Decimal | None:
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def readings_from(meter_value: list[dict[str, Any]]) -> tuple[list[MeterReading], list[str]]:
    """OCPP MeterValue list -> readings (energy in Wh, power in W) and notes on what was skipped.

    Only the whole-charger value of a measurand counts (no phase); measurand absent means the
    energy register (OCPP 1.6 SampledValue default); kWh and kW are converted."""
    readings, notes = [], []
    for entry in meter_value or []:
        try:
            at = parse_time(entry.get("timestamp"))
        except (TypeError, ValueError):
            notes.append(f"Unreadable timestamp {entry.get('timestamp')!r}: skipped.")
            continue
        energy = power = None
        for sample in entry.get("sampled_value") or []:
            if sample.get("phase") or sample.get("format") == "SignedData":
                continue
            if sample.get("location", "Outlet") not in ("Outlet", "Body"):
                continue
            measurand = sample.get("measurand", ENERGY_REGISTER)
            value = _number(sample.get("value"))
            unit = sample.get("unit", "Wh")
            if measurand == ENERGY_REGISTER:
                if value is None:
                    notes.append(f"Energy value {sample.get('value')!r} is not a number.")
                    continue
                energy = value * 1000 if unit == "kWh" else value
            elif measurand == POWER and value is not None:
                power = value * 1000 if unit == "kW" else value
        readings.append(MeterReading(timestamp=at, energy_wh=energy, power_w=power))
    return readings, notes


def _id_tag_info(allowed: str) -> IdTagInfo:
    return IdTagInfo(status=ID_TAG_STATUS.get(allowed, AuthorizationStatus.invalid))


class CentralSystem16(ChargePoint):
    """Our side of one charger's OCPP 1.6J connection."""

    def __init__(self, charger: ChargerRef, connection: Any) -> None:
        super().__init__(
            charger.charge_point_id, connection, response_timeout=settings.OCPP_CALL_TIMEOUT
        )
        self.charger = charger
        # Validation runs in route_message (see the module docstring), in this thread: a
        # schema check costs less than the hop to a worker thread the library would make.
        for handlers in self.route_map.values():
            handlers["_skip_schema_validation"] = True

    # --- Framing, validation, journal ---------------------------------------------------------

    async def journal(self, **values: Any) -> None:
        values.setdefault("charger_id", self.charger.pk)
        values.setdefault("charge_point_id", self.charger.charge_point_id)
        if settings.AUDIT_LOG_FLUSH_SECONDS > 0:
            services.journal(**values)  # queued for the writer thread: no database here
        else:
            await db(services.journal, **values)

    async def _send(self, message: str) -> None:
        await self._connection.send(message)
        kind = {"3": JournalKind.RESULT_OUT, "4": JournalKind.ERROR_OUT}.get(message[1:2])
        if kind is None:
            kind = JournalKind.CALL_OUT
        code = ""
        if kind == JournalKind.ERROR_OUT:
            code = json.loads(message)[2]
        await self.journal(kind=kind, message=message, error_code=code)

    async def _send_error(self, unique_id: str, error: OCPPError, note: str) -> None:
        code = error_code_16(error.code)
        cause = (error.details or {}).get("cause") if isinstance(error.details, dict) else None
        details = {"cause": str(cause)[:500]} if cause else {}
        frame = CallError(unique_id, code, str(error.description)[:255], details).to_json()
        await self.journal(
            kind=JournalKind.VIOLATION, unique_id=unique_id, error_code=code, note=note[:500]
        )
        await self._send(frame)

    async def route_message(self, raw_msg: Any) -> None:
        try:
            msg = unpack(raw_msg)
        except OCPPError as error:
            await self.journal(kind=JournalKind.CALL_IN, message=str(raw_msg))
            await self._send_error(_unique_id_of(raw_msg), error, "Malformed frame.")
            return
        if msg.message_type_id != MessageType.Call:
            kind = (
                JournalKind.RESULT_IN
                if msg.message_type_id == MessageType.CallResult
                else JournalKind.ERROR_IN
            )
            await self.journal(kind=kind, unique_id=msg.unique_id, message=str(raw_msg))
            self._response_queue.put_nowait(msg)
            return
        await self.journal(
            kind=JournalKind.CALL_IN,
            action=str(msg.action),
            unique_id=msg.unique_id,
            message=str(raw_msg),
        )
        if not isinstance(msg.payload, dict):
            await self._send_error(
                msg.unique_id,
                FormatViolationError(details={"cause": "The payload is not a JSON object."}),
                "Payload is not an object.",
            )
            return
        if msg.action in self.route_map:
            try:
                _validate_payload(msg, self._ocpp_version)
            except OCPPError as error:
                cause = (error.details or {}).get("cause", "") if error.details else ""
                if not self.charger.lenient:
                    await self._send_error(
                        msg.unique_id, error, f"Schema violation in {msg.action}: {cause}"
                    )
                    return
                await self.journal(
                    kind=JournalKind.VIOLATION,
                    action=str(msg.action),
                    unique_id=msg.unique_id,
                    error_code=error_code_16(error.code),
                    note=f"Accepted (lenient charger): {cause}"[:500],
                )
        try:
            await self._handle_call(msg)
        except OCPPError as error:
            await self._send_error(msg.unique_id, error, f"{msg.action}: {error.description}")

    # --- Charger -> central system ------------------------------------------------------------

    @on(Action.boot_notification)
    async def on_boot_notification(
        self, charge_point_vendor: str, charge_point_model: str, **extra: Any
    ) -> call_result.BootNotification:
        facts = {
            "vendor": charge_point_vendor,
            "model": charge_point_model,
            "firmware_version": extra.get("firmware_version", ""),
            "serial_number": extra.get("charge_point_serial_number", ""),
            "charge_box_serial_number": extra.get("charge_box_serial_number", ""),
            "meter_type": extra.get("meter_type", ""),
            "meter_serial_number": extra.get("meter_serial_number", ""),
            "iccid": extra.get("iccid", ""),
            "imsi": extra.get("imsi", ""),
        }
        facts = {k: str(v) for k, v in facts.items()}
        interval = await db(services.charger_boot, charger_id=self.charger.pk, facts=facts)
        return call_result.BootNotification(
            current_time=_now(), interval=interval, status=RegistrationStatus.accepted
        )

    @on(Action.heartbeat)
    async def on_heartbeat(self, **extra: Any) -> call_result.Heartbeat:
        now = await db(services.charger_heartbeat, charger_id=self.charger.pk)
        return call_result.Heartbeat(current_time=now.isoformat().replace("+00:00", "Z"))

    @on(Action.status_notification)
    async def on_status_notification(
        self, connector_id: int, error_code: str, status: str, **extra: Any
    ) -> call_result.StatusNotification:
        at = parse_time(extra["timestamp"]) if extra.get("timestamp") else timezone.now()
        note = await db(
            services.charger_status,
            charger_id=self.charger.pk,
            connector_number=connector_id,
            charger_status=str(status),
            error_code=str(error_code),
            evse_status=OCPI_STATUS.get(status),
            charging_state=CHARGING_STATE.get(status),
            at=at,
        )
        if note:
            await self.journal(kind=JournalKind.VIOLATION, action="StatusNotification", note=note)
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str, **extra: Any) -> call_result.Authorize:
        decision = await db(
            services.charger_authorize, partner=True, charger_id=self.charger.pk, id_tag=id_tag
        )
        return call_result.Authorize(id_tag_info=_id_tag_info(decision.allowed))

    @on(Action.start_transaction)
    async def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **extra: Any
    ) -> call_result.StartTransaction:
        outcome = await db(
            services.charger_transaction_start,
            partner=True,
            charger_id=self.charger.pk,
            connector_number=connector_id,
            id_tag=id_tag,
            meter_start_wh=int(meter_start),
            started_at=parse_time(timestamp),
            reservation_id=extra.get("reservation_id"),
        )
        if outcome.note:
            await self.journal(
                kind=JournalKind.VIOLATION, action="StartTransaction", note=outcome.note
            )
        return call_result.StartTransaction(
            transaction_id=outcome.transaction_id, id_tag_info=_id_tag_info(outcome.allowed)
        )

    @on(Action.meter_values)
    async def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **extra: Any
    ) -> call_result.MeterValues:
        readings, notes = readings_from(meter_value)
        note = await db(
            services.charger_meter_values,
            charger_id=self.charger.pk,
            connector_number=connector_id,
            transaction_id=extra.get("transaction_id"),
            readings=readings,
        )
        notes += [note] if note else []
        if notes:
            await self.journal(
                kind=JournalKind.VIOLATION, action="MeterValues", note=" ".join(notes)
            )
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    async def on_stop_transaction(
        self, meter_stop: int, timestamp: str, transaction_id: int, **extra: Any
    ) -> call_result.StopTransaction:
        readings, _ = readings_from(extra.get("transaction_data") or [])
        outcome = await db(
            services.charger_transaction_stop,
            partner=True,
            charger_id=self.charger.pk,
            transaction_id=transaction_id,
            meter_stop_wh=int(meter_stop),
            stopped_at=parse_time(timestamp),
            reason=str(extra.get("reason", "")),
            id_tag=extra.get("id_tag"),
            readings=readings,
        )
        if outcome.note:
            await self.journal(
                kind=JournalKind.VIOLATION,
                action="StopTransaction",
                note=outcome.note,
                needs_review=outcome.needs_review,
            )
        info = None if outcome.allowed is None else _id_tag_info(outcome.allowed)
        return call_result.StopTransaction(id_tag_info=info)

    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, **extra: Any) -> call_result.DataTransfer:
        # No vendor extensions are known here (OCPP 1.6: UnknownVendorId).
        return call_result.DataTransfer(status="UnknownVendorId")

    @on(Action.diagnostics_status_notification)
    async def on_diagnostics_status(self, **extra: Any) -> Any:
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification)
    async def on_firmware_status(self, **extra: Any) -> Any:
        return call_result.FirmwareStatusNotification()

    # --- Central system -> charger ------------------------------------------------------------

    async def send_command(self, command: ChargerCommand) -> tuple[str, str, str]:
        """Send one command and wait for its answer: (final status, answer, detail).

        Called by the server's worker for this charger, never from a handler."""
        payload = command_payload(command)
        try:
            result = await self.call(payload, suppress=False)
        except TimeoutError:
            return CommandStatus.TIMEOUT, "", f"No answer in {self._response_timeout:g} s."
        except OCPPError as error:
            return CommandStatus.FAILED, error_code_16(error.code), str(error.description)
        return command_outcome(command.action, result)


def _now() -> str:
    return timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")


def command_payload(command: ChargerCommand) -> Any:
    """The OCPP 1.6 call for a queued command."""
    action = command.action
    if action == CommandAction.RESET_SOFT:
        return call.Reset(type=ResetType.soft)
    if action == CommandAction.RESET_HARD:
        return call.Reset(type=ResetType.hard)
    if action == CommandAction.UNLOCK_CONNECTOR:
        return call.UnlockConnector(connector_id=command.connector_number)
    if action == CommandAction.REMOTE_START:
        return call.RemoteStartTransaction(
            id_tag=command.id_tag, connector_id=command.connector_number
        )
    if action == CommandAction.REMOTE_STOP:
        return call.RemoteStopTransaction(transaction_id=command.transaction_id)
    if action == CommandAction.RESERVE_NOW:
        return call.ReserveNow(
            connector_id=command.connector_number,
            expiry_date=command.expiry_date.isoformat().replace("+00:00", "Z"),
            id_tag=command.id_tag,
            reservation_id=command.reservation_id,
        )
    if action == CommandAction.CANCEL_RESERVATION:
        return call.CancelReservation(reservation_id=command.reservation_id)
    if action == CommandAction.CHANGE_AVAILABILITY:
        kind = (
            AvailabilityType.operative
            if command.availability == "Operative"
            else AvailabilityType.inoperative
        )
        return call.ChangeAvailability(connector_id=command.connector_number, type=kind)
    raise ValueError(f"Unknown command {action}")


# The charger's answer -> our final state. "Scheduled" (ChangeAvailability during a
# transaction) is accepted: it will happen.
ACCEPTED_ANSWERS = {"Accepted", "Unlocked", "Scheduled"}
FAILED_ANSWERS = {"UnlockFailed", "Faulted"}


def command_outcome(action: str, result: Any) -> tuple[str, str, str]:
    answer = str(getattr(result, "status", ""))
    if answer in ACCEPTED_ANSWERS:
        return CommandStatus.ACCEPTED, answer, ""
    if answer in FAILED_ANSWERS:
        return CommandStatus.FAILED, answer, ""
    return CommandStatus.REJECTED, answer, ""
