"""Checking a CDR a partner sent us: is the token ours, does it match the session we saw, and
does its price follow from the partner's own published tariff under our engine?

Pure reads: `cdr_check` returns the findings and both computations; services.cdr_reconcile
decides what to write. It runs inside the partner's POST (the cdrs app's `cdr_received`), so it
is a handful of indexed lookups and one pricing; tariffs are compiled once per version.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection

from apps.locations.models import Location
from apps.sessions.models import Session
from apps.tariffs.models import Tariff
from apps.tariffs.pricing import (
    CompiledTariff,
    PricingError,
    PricingResult,
    compile_tariff,
    price_periods,
)
from apps.tokens.selectors import token_own_for_tap
from echargo.db.sql_rows import RowReader
from echargo.ocpi.fields import parse_ocpi_datetime
from echargo.ocpi.routing import ci

from .models import DisputeReason

# CDR cost lines in the order statements print them; "total" is total_cost.
LINES = ("fixed", "energy", "time", "parking", "reservation", "total")
_CACHE_SIZE = 512
_FOUR = Decimal("0.0001")


@dataclass(frozen=True)
class Finding:
    code: str
    message: str


@dataclass
class CdrCheck:
    """What reconciliation found for one CDR, and the figures both sides arrive at."""

    findings: list[Finding] = field(default_factory=list)
    currency: str = ""
    partner: dict[str, tuple[Decimal | None, Decimal | None]] = field(default_factory=dict)
    ours: dict[str, tuple[Decimal | None, Decimal | None]] = field(default_factory=dict)
    tariff_source: str = ""
    breakdown: str = ""

    def add(self, code: str, message: str) -> None:
        self.findings.append(Finding(code, message))

    def lines(self) -> list[dict[str, str | None]]:
        """Partner beside ours per cost line, as exact decimal strings (JSON-safe)."""

        def text(value: Decimal | None) -> str | None:
            if value is None:
                return None
            # At least the 4 decimals of OCPI amounts, so both sides line up; never fewer digits
            # than the partner sent.
            if value.as_tuple().exponent > -4:
                value = value.quantize(_FOUR)
            return f"{value:f}"

        rows = []
        for line in LINES:
            partner = self.partner.get(line, (None, None))
            ours = self.ours.get(line, (None, None))
            if partner == (None, None) and ours == (None, None):
                continue
            rows.append(
                {
                    "line": line,
                    "partner_excl_vat": text(partner[0]),
                    "partner_incl_vat": text(partner[1]),
                    "our_excl_vat": text(ours[0]),
                    "our_incl_vat": text(ours[1]),
                }
            )
        return rows


class _Lru(OrderedDict):
    def fetch(self, key: Any, build: Any) -> Any:
        try:
            self.move_to_end(key)
            return self[key]
        except KeyError:
            value = self[key] = build()
            if len(self) > _CACHE_SIZE:
                self.popitem(last=False)
            return value


# Compiled tariffs, by (tariff row, version) for stored ones and by document text for the copies
# a CDR carries: compiling is most of a pricing's cost and a partner's tariffs rarely change.
_compiled = _Lru()


def compiled_tariff_cache_clear() -> None:
    _compiled.clear()


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str | float):
        try:
            return Decimal(str(value))
        except ArithmeticError:
            return None
    return None


def _price(value: Any) -> tuple[Decimal | None, Decimal | None]:
    if not isinstance(value, dict):
        return (None, None)
    return (_decimal(value.get("excl_vat")), _decimal(value.get("incl_vat")))


def partner_figures(document: dict[str, Any]) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    """The cost lines of an OCPI CDR document as (excl_vat, incl_vat)."""
    figures = {line: _price(document.get(f"total_{line}_cost")) for line in LINES[:-1]}
    figures["total"] = _price(document.get("total_cost"))
    return figures


def our_figures(result: PricingResult) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    figures: dict[str, tuple[Decimal | None, Decimal | None]] = {}
    for line in LINES[:-1]:
        price = getattr(result, f"total_{line}_cost")
        figures[line] = (None, None) if price is None else (price.excl_vat, price.incl_vat)
    figures["total"] = (result.total_cost.excl_vat, result.total_cost.incl_vat)
    return figures


def within(partner: Decimal, ours: Decimal, absolute: Decimal, percent: Decimal) -> bool:
    """A deviation is tolerated when it is within the absolute OR the relative tolerance."""
    deviation = abs(partner - ours)
    return deviation <= absolute or deviation <= abs(ours) * percent / 100


def check_token(check: CdrCheck, token: dict[str, Any]) -> None:
    uid, kind = token.get("uid"), token.get("type")
    if not isinstance(uid, str) or not isinstance(kind, str):
        check.add(DisputeReason.UNKNOWN_TOKEN, "the CDR names no token uid and type")
        return
    ours = token_own_for_tap(uid=uid, type=kind)
    country, party = str(token.get("country_code", "")), str(token.get("party_id", ""))
    if ours is None or (ci(ours.country_code), ci(ours.party_id)) != (ci(country), ci(party)):
        check.add(
            DisputeReason.UNKNOWN_TOKEN,
            f"token {country}*{party} {kind} {uid} is not one of our drivers' tokens",
        )


def _when(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return parse_ocpi_datetime(value)
        except ValueError:
            return None
    return None


@cache
def _session_lookup() -> tuple[str, RowReader]:
    fields = [
        Session._meta.get_field(name)
        for name in (
            "id",
            "owner",
            "session_id",
            "start_date_time",
            "end_date_time",
            "kwh",
            "token_uid",
            "time_zone",
        )
    ]
    reader = RowReader(Session, fields)
    sql = (
        f"SELECT {reader.select_list('s')} FROM {Session._meta.db_table} s"  # noqa: S608
        " WHERE s.country_code = %s AND s.party_id = %s AND s.session_key = %s LIMIT 1"
    )
    return sql, reader


def session_of(document: dict[str, Any]) -> Session | None:
    """The partner's session this CDR names, as it last told us (one indexed lookup)."""
    session_id = document.get("session_id")
    if not isinstance(session_id, str) or not session_id:
        return None
    sql, reader = _session_lookup()
    key = [
        ci(str(document.get("country_code", ""))),
        ci(str(document.get("party_id", ""))),
        ci(session_id),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, key)
        row = cursor.fetchone()
    return None if row is None else reader.instance(row)


@cache
def _sends_sessions_sql() -> str:
    return f"SELECT 1 FROM {Session._meta.db_table} WHERE owner_id = %s LIMIT 1"  # noqa: S608


def _sends_sessions(owner_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_sends_sessions_sql(), [owner_id])
        return cursor.fetchone() is not None


def check_session(
    check: CdrCheck, document: dict[str, Any], session: Session | None, owner_id: int
) -> None:
    session_id = document.get("session_id")
    if session is None:
        # Only a partner that sends us its Sessions can be held to them: one that does not (or
        # before our sessions receiver ran) would otherwise have every CDR disputed.
        if session_id and settings.SETTLEMENT_DISPUTE_UNKNOWN_SESSION and _sends_sessions(owner_id):
            check.add(DisputeReason.UNKNOWN_SESSION, f"we never saw session {session_id}")
        return
    problems = []
    energy = _decimal(document.get("total_energy"))
    if energy is not None and not within(
        energy,
        session.kwh,
        settings.SETTLEMENT_ENERGY_TOLERANCE_KWH,
        settings.SETTLEMENT_ENERGY_TOLERANCE_PERCENT,
    ):
        problems.append(f"energy {energy:f} kWh, the session had {session.kwh:f} kWh")
    slack = dt.timedelta(seconds=settings.SETTLEMENT_TIME_TOLERANCE_SECONDS)
    for name, seen in (
        ("start", session.start_date_time),
        ("end", session.end_date_time),
    ):
        claimed = _when(document.get(f"{name}_date_time"))
        if seen is not None and claimed is not None and abs(claimed - seen) > slack:
            problems.append(
                f"{name} {claimed:%Y-%m-%d %H:%M:%S} UTC, the session's "
                f"{seen:%Y-%m-%d %H:%M:%S} UTC"
            )
    uid = (document.get("cdr_token") or {}).get("uid")
    if isinstance(uid, str) and ci(uid) != ci(session.token_uid):
        problems.append(f"token {uid}, the session's {session.token_uid}")
    if problems:
        check.add(
            DisputeReason.SESSION_MISMATCH,
            f"session {session.session_id}: " + "; ".join(problems),
        )


def _tariff_ids(document: dict[str, Any]) -> list[str]:
    ids = []
    for period in document.get("charging_periods") or []:
        tariff_id = period.get("tariff_id") if isinstance(period, dict) else None
        if isinstance(tariff_id, str) and tariff_id and ci(tariff_id) not in map(ci, ids):
            ids.append(tariff_id)
    return ids


@cache
def _tariff_lookup() -> tuple[str, RowReader]:
    fields = [Tariff._meta.get_field(name) for name in ("id", "tariff_id", "last_updated")]
    reader = RowReader(Tariff, fields)
    sql = (
        f"SELECT {reader.select_list('t')} FROM {Tariff._meta.db_table} t"  # noqa: S608
        " WHERE t.owner_id = %s AND t.tariff_id_key = %s LIMIT 1"
    )
    return sql, reader


def _stored_tariff(owner_id: int, tariff_id: str) -> Tariff | None:
    # Without its document: that is read only when this version is not compiled yet.
    sql, reader = _tariff_lookup()
    with connection.cursor() as cursor:
        cursor.execute(sql, [owner_id, ci(tariff_id)])
        row = cursor.fetchone()
    return None if row is None else reader.instance(row)


def _stored_compiled(tariff: Tariff) -> CompiledTariff:
    return _compiled.fetch(
        ("row", tariff.pk, tariff.last_updated),
        lambda: compile_tariff(json.loads(tariff.ocpi_json, parse_float=Decimal)),
    )


def _embedded_compiled(tariff: dict[str, Any]) -> CompiledTariff:
    text = json.dumps(tariff, sort_keys=True, default=str)
    return _compiled.fetch(("doc", text), lambda: compile_tariff(tariff))


def tariff_for(
    document: dict[str, Any], owner_id: int, start: dt.datetime | None
) -> tuple[CompiledTariff | None, str]:
    """The partner's tariff to price this CDR with, and a sentence saying which one.

    The tariff the partner published to us is the reference (it is what our drivers were
    shown) when it was already in force at the session start; if it changed since, the copy the
    CDR carries (OCPI: the tariff as valid at session start) is used instead.
    """
    embedded = {
        ci(t["id"]): t
        for t in document.get("tariffs") or []
        if isinstance(t, dict) and isinstance(t.get("id"), str)
    }
    ids = _tariff_ids(document) or list(embedded)[:1]
    if not ids:
        return None, ""
    tariff_id = ids[0]
    stored = _stored_tariff(owner_id, tariff_id)
    copy = embedded.get(ci(tariff_id))
    if stored is not None and (copy is None or start is None or stored.last_updated <= start):
        return _stored_compiled(stored), (
            f"published tariff {tariff_id} (last updated {stored.last_updated:%Y-%m-%d %H:%M} UTC)"
        )
    if copy is not None:
        return _embedded_compiled(copy), f"tariff {tariff_id} as carried in the CDR"
    return None, f"tariff {tariff_id} is neither published to us nor carried in the CDR"


@cache
def _location_zone_sql() -> str:
    return (
        f"SELECT time_zone FROM {Location._meta.db_table}"  # noqa: S608
        " WHERE country_code = %s AND party_id = %s AND location_key = %s LIMIT 1"
    )


def _time_zone(document: dict[str, Any], session: Session | None) -> str:
    if session is not None and session.time_zone:
        return session.time_zone
    location_id = (document.get("cdr_location") or {}).get("id")
    if isinstance(location_id, str):
        with connection.cursor() as cursor:
            cursor.execute(
                _location_zone_sql(),
                [
                    ci(str(document.get("country_code", ""))),
                    ci(str(document.get("party_id", ""))),
                    ci(location_id),
                ],
            )
            row = cursor.fetchone()
        if row and row[0]:
            return row[0]
    return settings.SETTLEMENT_DEFAULT_TIME_ZONE


def check_price(
    check: CdrCheck, document: dict[str, Any], owner_id: int, session: Session | None
) -> None:
    start, end = _when(document.get("start_date_time")), _when(document.get("end_date_time"))
    compiled, source = tariff_for(document, owner_id, start)
    check.tariff_source = source
    if compiled is None:
        check.add(DisputeReason.NO_TARIFF, source or "the CDR names no tariff")
        return
    if ci(compiled.currency) != ci(check.currency):
        check.add(
            DisputeReason.CURRENCY,
            f"CDR in {check.currency}, its tariff in {compiled.currency}",
        )
        return
    try:
        result = price_periods(
            tariff=compiled,
            periods=document.get("charging_periods") or [],
            end_date_time=end,
            time_zone=_time_zone(document, session),
        )
    except (PricingError, TypeError) as exc:
        check.add(DisputeReason.NO_TARIFF, f"our engine cannot price it: {exc}")
        return
    check.ours = our_figures(result)
    check.breakdown = result.describe()
    partner_excl, partner_incl = check.partner["total"]
    our_excl, our_incl = check.ours["total"]
    absolute = settings.SETTLEMENT_PRICE_TOLERANCE
    percent = settings.SETTLEMENT_PRICE_TOLERANCE_PERCENT
    deviations = []
    if partner_excl is None or not within(partner_excl, our_excl, absolute, percent):
        deviations.append(f"excl. VAT {partner_excl} against our {our_excl:f}")
    if (
        partner_incl is not None
        and our_incl is not None
        and not within(partner_incl, our_incl, absolute, percent)
    ):
        deviations.append(f"incl. VAT {partner_incl:f} against our {our_incl:f}")
    if deviations:
        check.add(
            DisputeReason.PRICE_DEVIATION,
            f"total_cost {check.currency} " + ", ".join(deviations) + f" ({source})",
        )


def cdr_check(
    *, document: dict[str, Any], owner_id: int, session: Session | None = None
) -> CdrCheck:
    """Reconcile a partner's (non-credit) CDR document; duplicates are the caller's query.

    `session`: the partner's session the cdrs app linked the CDR to, if it did; else it is
    looked up by the CDR's session_id.
    """
    check = CdrCheck(currency=str(document.get("currency", "")))
    check.partner = partner_figures(document)
    check_token(check, document.get("cdr_token") or {})
    session = session or session_of(document)
    check_session(check, document, session, owner_id)
    check_price(check, document, owner_id, session)
    return check
