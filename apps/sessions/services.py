"""Session operations: the life of a charging session on one of our EVSEs, priced as it runs.

Callers (today the chargers app, translating OCPP) hand in plain facts: a start with the meter
reading and the token, meter readings with the charger's timestamps, charging/parking changes,
a stop. Energy is always the newest meter register minus the start register, never a sum of
deltas, so readings replayed late or twice cannot count twice; a register that goes backwards
is flagged for staff and not used. `total_cost` is re-priced on every change by the tariff
engine (apps/tariffs/pricing/) with the tariff in force when the session started.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.locations.models import EVSE, Connector, Location
from apps.partners.models import Party
from apps.tariffs.models import Tariff
from apps.tariffs.pricing import (
    ChargingPeriodInput,
    CompiledTariff,
    PricingError,
    compile_tariff,
    price_periods,
)
from apps.tariffs.selectors import tariff_of_owner
from apps.tokens.models import Token
from echargo.db.sql_rows import RowReader
from echargo.history import change_reason_set, history_skip_next_save
from echargo.ocpi.fields import format_ocpi_datetime

from .models import AuthMethod, ChargingState, Session, SessionStatus
from .push import session_push
from .signals import session_completed

WH_PER_KWH = Decimal(1000)
SECONDS_PER_HOUR = Decimal(3600)
FOUR_PLACES = Decimal("0.0001")
FINAL = (SessionStatus.COMPLETED, SessionStatus.INVALID)
# What a meter reading changes.
READING_FIELDS = (
    "kwh",
    "charging_periods",
    "total_cost_excl_vat",
    "total_cost_incl_vat",
    "meter_last_wh",
    "period_start_wh",
    "last_reading_at",
    "max_power_kw",
    "charging_state",
    "last_updated",
)


@dataclass(frozen=True)
class CdrTokenInfo:
    """The OCPI CdrToken of the token that started a session, and our row of it if we hold one."""

    country_code: str
    party_id: str
    uid: str
    type: str
    contract_id: str
    token: Token | None = None


@dataclass(frozen=True)
class MeterReading:
    """One reading: the charger's timestamp, the energy register (Wh) if it sent one, power (W)."""

    timestamp: dt.datetime
    energy_wh: Decimal | None = None
    power_w: Decimal | None = None


def _period_seconds() -> int:
    # OCPI 2.2.1 sessions: enough periods for driver feedback, not one per reading.
    return int(getattr(settings, "SESSIONS_PERIOD_SECONDS", 900))


def _tariff_in_force(owner: Party, connector: Connector, at: dt.datetime) -> Tariff | None:
    """The first of the connector's tariffs that is valid at `at` (OCPI 2.2.1 tariffs:
    start_date_time/end_date_time bound when a tariff applies)."""
    for tariff_id in connector.tariff_ids or []:
        tariff = tariff_of_owner(owner=owner, tariff_id=tariff_id)
        if tariff is None:
            continue
        if tariff.start_date_time and at < tariff.start_date_time:
            continue
        if tariff.end_date_time and at >= tariff.end_date_time:
            continue
        return tariff
    return None


def _flag(session: Session, note: str, *, at: dt.datetime | None = None) -> None:
    when = format_ocpi_datetime(at or timezone.now())
    session.flags = [*session.flags, {"at": when, "note": note[:500]}]
    session.needs_review = True


@transaction.atomic
def session_start_from_charger(
    *,
    owner: Party,
    location: Location,
    evse: EVSE,
    connector: Connector,
    started_at: dt.datetime,
    meter_start_wh: Decimal,
    cdr_token: CdrTokenInfo,
    auth_method: str = AuthMethod.WHITELIST,
    authorization_reference: str = "",
    allowed: bool = True,
    pending: bool = False,
    meter_id: str = "",
    note: str = "",
) -> Session:
    """Open a session on one of our EVSEs, priced with the connector's tariff in force now.

    `started_at` is the charger's time (kept as it is even when the start arrives late);
    `allowed=False` (the token was refused and the charger started anyway) makes it INVALID;
    `pending=True` opens it PENDING (accepted, energy not flowing yet): the first meter reading
    makes it ACTIVE, and one that never starts ends INVALID by session_pending_expire_from_sweep.
    """
    now = timezone.now()
    tariff = _tariff_in_force(owner, connector, started_at)
    session = Session(
        owner=owner,
        country_code=owner.country_code,
        party_id=owner.party_id,
        session_id=str(uuid.uuid4()),
        start_date_time=started_at,
        token=cdr_token.token,
        token_country_code=cdr_token.country_code,
        token_party_id=cdr_token.party_id,
        token_uid=cdr_token.uid[:36],
        token_type=cdr_token.type,
        token_contract_id=cdr_token.contract_id[:36],
        auth_method=auth_method,
        authorization_reference=authorization_reference[:36],
        location_id=location.location_id,
        evse_uid=evse.uid,
        connector_id=connector.connector_id,
        meter_id=meter_id[:255],
        currency=tariff.currency if tariff else settings.SESSIONS_DEFAULT_CURRENCY,
        status=(
            SessionStatus.INVALID
            if not allowed
            else SessionStatus.PENDING
            if pending
            else SessionStatus.ACTIVE
        ),
        last_updated=now,
        tariff_id=tariff.tariff_id if tariff else "",
        tariff_json=tariff.ocpi_json if tariff else "",
        time_zone=location.time_zone,
        meter_start_wh=meter_start_wh,
        meter_last_wh=meter_start_wh,
        period_start_wh=meter_start_wh,
        last_reading_at=started_at,
        charging_state=ChargingState.CHARGING,
        charger_started_at=started_at,
        received_start_at=now,
        charging_periods=[_new_period(started_at, tariff.tariff_id if tariff else "")],
    )
    if not allowed:
        _flag(session, "Started with a token that was not allowed; not billed.", at=now)
    if note:
        _flag(session, note, at=now)
    _render(session)
    change_reason_set(session, "Started at the charger")
    session.save()
    session_push(session, whole=True)
    return session


@cache
def _lock_sql() -> tuple[str, RowReader]:
    reader = RowReader(Session)
    sql = f"SELECT {reader.select_list('s')} FROM {Session._meta.db_table} s WHERE s.id = %s"  # noqa: S608 (model metadata)
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    return sql, reader


def _locked(session: Session) -> Session:
    """The session's row, locked for this transaction. Hand-written SQL read by a RowReader
    (echargo/db/sql_rows.py): it runs for every meter reading, and compiling the queryset of a
    50-column model cost more than the lookup."""
    sql, reader = _lock_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [session.pk])
        row = cursor.fetchone()
    if row is None:
        raise Session.DoesNotExist(f"No session {session.pk}")
    return reader.instance(row)


@transaction.atomic
def session_meter_values(*, session: Session, readings: list[MeterReading]) -> Session:
    """Apply meter readings (any order; late, repeated and register-less ones are harmless).

    Only `session.pk` is read: the row is loaded here, locked."""
    if connection.vendor == "postgresql":
        # Readings are cumulative: one lost in a database crash is made good by the next, so
        # this commit need not wait for the WAL to reach the disk (it is still atomic and
        # ordered). Starts and stops keep the full guarantee.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    session = _locked(session)
    if session.status in FINAL and session.end_date_time is not None:
        # Readings that arrive after the stop (a charger replaying its buffer) describe time
        # the stop already covers.
        return session
    changed = False
    flagged = False
    for reading in sorted(readings, key=lambda r: r.timestamp):
        applied, noted = _apply_reading(session, reading)
        changed |= applied
        flagged |= noted
    if not (changed or flagged):
        return session
    started = session.status == SessionStatus.PENDING and changed
    if started:
        session.status = SessionStatus.ACTIVE
    _render(session)
    session.last_updated = timezone.now()
    if started:
        change_reason_set(session, "Energy flows: active")
        session.save()
    elif flagged:
        change_reason_set(session, "Meter reading flagged")
        session.save()
    else:
        # Readings arrive every few seconds: history rows are kept for the events that change
        # what a session is (start, charging/parking, stop, flags), not for each reading.
        history_skip_next_save(session)
        session.save(update_fields=READING_FIELDS)
    session_push(session, whole=False)
    return session


def _apply_reading(
    session: Session, reading: MeterReading, *, split: bool = True
) -> tuple[bool, bool]:
    """(applied, flagged) for one reading; `split`: it may open the next period."""
    at = reading.timestamp
    if session.last_reading_at is not None and at < session.last_reading_at:
        # The register is cumulative: a newer reading already counted this energy.
        return False, False
    flagged = False
    if reading.energy_wh is not None:
        last = session.meter_last_wh
        if last is not None and reading.energy_wh < last:
            _flag(
                session,
                f"Meter went backwards from {last} Wh to {reading.energy_wh} Wh at "
                f"{format_ocpi_datetime(at)}: reading not summed.",
            )
            flagged = True
        else:
            session.meter_last_wh = reading.energy_wh
    if reading.power_w is not None:
        power_kw = (reading.power_w / WH_PER_KWH).quantize(Decimal("0.001"))
        if session.max_power_kw is None or power_kw > session.max_power_kw:
            session.max_power_kw = power_kw
    session.last_reading_at = at
    period_start = _period_start(session)
    if split and (at - period_start).total_seconds() >= _period_seconds():
        _close_and_open(session, at, session.charging_state)
    return True, flagged


def _new_period(start: dt.datetime, tariff_id: str) -> dict[str, Any]:
    period: dict[str, Any] = {"start_date_time": format_ocpi_datetime(start), "dimensions": []}
    if tariff_id:
        period["tariff_id"] = tariff_id
    return period


def _period_start(session: Session) -> dt.datetime:
    return dt.datetime.fromisoformat(session.charging_periods[-1]["start_date_time"])


def _close_and_open(session: Session, at: dt.datetime, state: str) -> None:
    """End the current period at `at` and open one in `state` (a tariff-relevant moment)."""
    session.last_reading_at = max(session.last_reading_at or at, at)
    _render_current_period(session, until=at)
    session.charging_periods = [*session.charging_periods, _new_period(at, session.tariff_id)]
    session.period_start_wh = session.meter_last_wh
    session.charging_state = state


def _render_current_period(session: Session, *, until: dt.datetime) -> None:
    period = dict(session.charging_periods[-1])
    hours = Decimal(max(0.0, (until - _period_start(session)).total_seconds())) / SECONDS_PER_HOUR
    energy = ((session.meter_last_wh or 0) - (session.period_start_wh or 0)) / WH_PER_KWH
    dimensions = [{"type": "ENERGY", "volume": str(energy.quantize(FOUR_PLACES))}]
    if session.charging_state == ChargingState.PARKING:
        dimensions.append({"type": "PARKING_TIME", "volume": str(hours.quantize(FOUR_PLACES))})
    else:
        dimensions.append({"type": "TIME", "volume": str(hours.quantize(FOUR_PLACES))})
    period["dimensions"] = dimensions
    session.charging_periods = [*session.charging_periods[:-1], period]


def _render(session: Session) -> None:
    """Bring kwh, the open period and total_cost up to the newest reading."""
    end = session.end_date_time or session.last_reading_at or session.start_date_time
    _render_current_period(session, until=end)
    energy_wh = (session.meter_last_wh or 0) - (session.meter_start_wh or 0)
    session.kwh = (Decimal(energy_wh) / WH_PER_KWH).quantize(FOUR_PLACES)
    _price(session, end)


@lru_cache(maxsize=256)
def _compiled(tariff_json: str) -> CompiledTariff:
    """A session's tariff snapshot compiled once per process, not on every reading."""
    return compile_tariff(json.loads(tariff_json, parse_float=Decimal))


def _price(session: Session, end: dt.datetime) -> None:
    if not session.tariff_json:
        session.total_cost_excl_vat = session.total_cost_incl_vat = None
        return
    try:
        tariff = _compiled(session.tariff_json)
    except PricingError as exc:
        if not any("could not be priced" in f["note"] for f in session.flags):
            _flag(session, f"Session could not be priced: {exc}")
        session.total_cost_excl_vat = session.total_cost_incl_vat = None
        return
    periods = [
        ChargingPeriodInput(
            start_date_time=dt.datetime.fromisoformat(p["start_date_time"]),
            dimensions={d["type"]: Decimal(d["volume"]) for d in p["dimensions"]},
        )
        for p in session.charging_periods
    ]
    try:
        result = price_periods(
            tariff=tariff, periods=periods, end_date_time=end, time_zone=session.time_zone
        )
    except PricingError as exc:
        if not any("could not be priced" in f["note"] for f in session.flags):
            _flag(session, f"Session could not be priced: {exc}")
        session.total_cost_excl_vat = session.total_cost_incl_vat = None
        return
    session.total_cost_excl_vat = result.total_cost.excl_vat
    session.total_cost_incl_vat = result.total_cost.incl_vat


@transaction.atomic
def session_charging_state_set(*, session: Session, state: str, at: dt.datetime) -> Session:
    """The vehicle started or stopped requesting power at `at` (charger time): a new period."""
    session = _locked(session)
    if session.status in FINAL or session.charging_state == state:
        return session
    at = max(at, _period_start(session))
    if at == _period_start(session):
        # The current period starts right now (a reading just opened it): it takes the state.
        session.charging_state = state
    else:
        _close_and_open(session, at, state)
    _render(session)
    session.last_updated = timezone.now()
    change_reason_set(session, f"Now {ChargingState(state).label.lower()}")
    session.save()
    session_push(session, whole=True)
    return session


@transaction.atomic
def session_stop_from_charger(
    *,
    session: Session,
    stopped_at: dt.datetime,
    meter_stop_wh: Decimal,
    reason: str = "",
    readings: list[MeterReading] | None = None,
) -> Session:
    """Close a session with the charger's stop time and meter reading; COMPLETED (or INVALID).

    A second stop with the same facts (a charger retrying after a lost answer) changes nothing.
    """
    session = _locked(session)
    if session.status in FINAL and session.end_date_time is not None:
        if session.charger_stopped_at != stopped_at or session.meter_stop_wh != meter_stop_wh:
            _flag(
                session,
                f"Another stop at {format_ocpi_datetime(stopped_at)} ({meter_stop_wh} Wh) "
                "after the session had ended: ignored.",
            )
            change_reason_set(session, "Second stop flagged")
            session.save()
        return session
    for reading in sorted(readings or [], key=lambda r: r.timestamp):
        _apply_reading(session, reading)
    # The stop closes the last period: it never opens another.
    _apply_reading(
        session, MeterReading(timestamp=stopped_at, energy_wh=meter_stop_wh), split=False
    )
    now = timezone.now()
    session.meter_stop_wh = meter_stop_wh
    session.charger_stopped_at = stopped_at
    session.received_stop_at = now
    session.end_date_time = max(stopped_at, session.last_reading_at or stopped_at)
    session.stop_reason = reason[:32]
    if session.status != SessionStatus.INVALID:
        session.status = SessionStatus.COMPLETED
    _render(session)
    session.last_updated = now
    change_reason_set(session, f"Stopped at the charger ({reason or 'no reason given'})")
    session.save()
    session_push(session, whole=True)
    if session.status == SessionStatus.COMPLETED:
        session_completed.send(sender=Session, session=session)
    return session


@transaction.atomic
def session_flag(*, session: Session, note: str) -> Session:
    """Add a note for staff to a session (something a charger reported that needs a look)."""
    session = _locked(session)
    _flag(session, note)
    session.last_updated = timezone.now()
    change_reason_set(session, "Flagged")
    session.save()
    return session


def session_pending_expire_from_sweep(*, now: dt.datetime | None = None) -> int:
    """End our PENDING sessions that never became ACTIVE within SESSIONS_PENDING_TIMEOUT_SECONDS
    (OCPI SessionStatus: PENDING "has not yet started"; a session that never starts is not
    billed, so INVALID). Each is told to its eMSP; how many ended."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.SESSIONS_PENDING_TIMEOUT_SECONDS)
    ended = 0
    for pk in Session.objects.filter(
        owner__is_own=True, status=SessionStatus.PENDING, last_updated__lt=cutoff
    ).values_list("pk", flat=True):
        ended += _pending_expire(pk, now)
    return ended


@transaction.atomic
def _pending_expire(pk: int, now: dt.datetime) -> int:
    session = _locked(Session(pk=pk))
    if session.status != SessionStatus.PENDING:
        # A reading made it ACTIVE between the sweep's read and this lock.
        return 0
    session.status = SessionStatus.INVALID
    session.end_date_time = now
    _flag(session, "Never started charging: ended as INVALID by the pending timeout.", at=now)
    _render(session)
    session.last_updated = now
    change_reason_set(session, "Pending timeout: never started")
    session.save()
    session_push(session, whole=True)
    return 1
