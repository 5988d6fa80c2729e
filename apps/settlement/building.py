"""Statements built by the database: which CDRs a period's drafts cover, and their sums.

Three statements per direction do all the work however many CDRs there are: a GROUP BY finds
the counterparties and currencies, one INSERT ... SELECT writes every membership row (with the
dispute that holds a CDR out), one GROUP BY sums them per statement. No CDR passes through
Python. A CDR is taken by the first draft built after it ends that it is not settled in yet
(the `cdr_settled_once` index): a late CDR of a closed period lands in the next one.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Abs, Coalesce, Upper
from django.utils import timezone

from apps.cdrs.models import Cdr
from apps.partners.models import Party

from .models import (
    HOLDING_STATUSES,
    Direction,
    Dispute,
    Statement,
    StatementLine,
    StatementStatus,
)

_ZERO = Decimal(0)
_FOUR = Decimal("0.0001")
_AMOUNT = DecimalField(max_digits=20, decimal_places=4)


def _four(value: object) -> object:
    if isinstance(value, Decimal | float):
        return Decimal(str(value)).quantize(_FOUR, ROUND_HALF_UP)
    return value


def month_after(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def period_end_instant(period_start: dt.date) -> dt.datetime:
    return dt.datetime.combine(month_after(period_start), dt.time(), tzinfo=dt.UTC)


def candidates(
    *, direction: str, before: dt.datetime, counterparty: tuple[str, str] | None = None
) -> QuerySet:
    """CDRs of one direction that ended before `before` and are not settled anywhere yet,
    as rows (cdr_ref, cc, pid, cur): the CDR and the statement key it belongs to."""
    settled = StatementLine.objects.filter(cdr_id=OuterRef("pk"), held=False)
    if direction == Direction.RECEIVABLE:
        # Ours as CPO: the counterparty is the eMSP of the driver's token, unless that is us.
        queryset = Cdr.objects.filter(owner__is_own=True).annotate(
            cc=Upper("token_country_code"), pid=Upper("token_party_id")
        )
        for own in Party.objects.filter(is_own=True).values("country_code", "party_id").distinct():
            queryset = queryset.exclude(cc=own["country_code"], pid=own["party_id"])
    else:
        # A partner CPO's CDRs for our drivers: the counterparty is that CPO.
        queryset = Cdr.objects.filter(owner__is_own=False).annotate(
            cc=Upper("country_code"), pid=Upper("party_id")
        )
    queryset = queryset.filter(end_date_time__lt=before).filter(~Exists(settled))
    if counterparty is not None:
        queryset = queryset.filter(cc=counterparty[0].upper(), pid=counterparty[1].upper())
    return queryset.annotate(cur=Upper("currency"))


def _connection_of(country_code: str, party_id: str) -> int | None:
    return (
        Party.objects.filter(country_code=country_code, party_id=party_id, is_own=False)
        .exclude(connection=None)
        .values_list("connection_id", flat=True)
        .first()
    )


def _insert_lines(rows: QuerySet, direction: str, statement_ids: list[int]) -> None:
    select_sql, params = rows.values("cc", "pid", "cur", cdr_ref=F("pk")).query.sql_with_params()
    line, statement, dispute = (
        StatementLine._meta.db_table,
        Statement._meta.db_table,
        Dispute._meta.db_table,
    )
    ids = ", ".join(["%s"] * len(statement_ids))
    holding = ", ".join(["%s"] * len(HOLDING_STATUSES))
    sql = (
        f"INSERT INTO {line} (statement_id, cdr_id, held, hold_reason, dispute_id)"  # noqa: S608
        f" SELECT s.id, c.cdr_ref, d.id IS NOT NULL, COALESCE(d.reason, ''), d.id"
        f" FROM ({select_sql}) c"
        f" JOIN {statement} s ON s.id IN ({ids}) AND s.direction = %s"
        f" AND s.country_code = c.cc AND s.party_id = c.pid AND s.currency = c.cur"
        f" LEFT JOIN {dispute} d ON d.cdr_id = c.cdr_ref AND d.status IN ({holding})"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The statements were just created: the planner's row estimate for them is stale
            # (1 row), and it then picks nested loops over every CDR. Fresh statistics and hash
            # joins turn a minute for a million CDRs into seconds.
            cursor.execute(f"ANALYZE {statement}")
            cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(sql, [*params, *statement_ids, direction, *HOLDING_STATUSES])
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_nestloop = on")


def signed(column: str) -> Case:
    """A CDR amount as it counts: a credit CDR always takes off (OCPI negates total_cost in a
    credit CDR, but copies the volumes; some partners send positive costs too)."""
    return Case(
        When(cdr__credit=True, then=-Abs(F(f"cdr__{column}"))),
        default=F(f"cdr__{column}"),
        output_field=_AMOUNT,
    )


def _sums(statement_ids: list[int]) -> dict[tuple[int, bool], dict]:
    rows = (
        StatementLine.objects.filter(statement_id__in=statement_ids)
        .values("statement_id", "held")
        .annotate(
            count=Count("pk"),
            credits=Count("pk", filter=Q(cdr__credit=True)),
            energy=Coalesce(Sum(signed("total_energy")), Value(_ZERO), output_field=_AMOUNT),
            excl=Coalesce(Sum(signed("total_cost_excl_vat")), Value(_ZERO), output_field=_AMOUNT),
            incl=Coalesce(Sum(signed("total_cost_incl_vat")), Value(_ZERO), output_field=_AMOUNT),
        )
        .order_by()
    )
    return {(row["statement_id"], row["held"]): row for row in rows}


def build_period(
    *, period_start: dt.date, counterparty: tuple[str, str] | None = None
) -> list[Statement]:
    """Rebuild the period's draft statements (creating those a new key needs); unsaved totals
    are set on the returned instances, which the caller saves with history."""
    period_start = period_start.replace(day=1)
    before = period_end_instant(period_start)
    built: list[Statement] = []
    for direction in (Direction.RECEIVABLE, Direction.PAYABLE):
        for key in (
            candidates(direction=direction, before=before, counterparty=counterparty)
            .values("cc", "pid", "cur")
            .distinct()
            .order_by()
        ):
            Statement.objects.get_or_create(
                direction=direction,
                country_code=key["cc"],
                party_id=key["pid"],
                currency=key["cur"],
                period_start=period_start,
                defaults={
                    "period_end": month_after(period_start),
                    "connection_id": _connection_of(key["cc"], key["pid"]),
                },
            )
        drafts = Statement.objects.filter(
            direction=direction, period_start=period_start, status=StatementStatus.DRAFT
        )
        if counterparty is not None:
            drafts = drafts.filter(
                country_code=counterparty[0].upper(), party_id=counterparty[1].upper()
            )
        drafts_list = list(drafts)
        if not drafts_list:
            continue
        ids = [s.pk for s in drafts_list]
        StatementLine.objects.filter(statement_id__in=ids).delete()
        _insert_lines(
            candidates(direction=direction, before=before, counterparty=counterparty),
            direction,
            ids,
        )
        sums = _sums(ids)
        now = timezone.now()
        for statement in drafts_list:
            kept = sums.get((statement.pk, False), {})
            held = sums.get((statement.pk, True), {})
            # Sums of 4-decimal amounts are exact; quantizing only normalises what SQLite (the
            # demo's database, which sums in floating point) hands back.
            kept = {k: _four(v) for k, v in kept.items()}
            held = {k: _four(v) for k, v in held.items()}
            statement.cdr_count = kept.get("count", 0)
            statement.credit_count = kept.get("credits", 0)
            statement.energy_kwh = kept.get("energy", _ZERO)
            statement.total_excl_vat = kept.get("excl", _ZERO)
            statement.total_incl_vat = kept.get("incl", _ZERO)
            statement.held_count = held.get("count", 0)
            statement.held_excl_vat = held.get("excl", _ZERO)
            statement.held_incl_vat = held.get("incl", _ZERO)
            statement.built_at = now
            built.append(statement)
    return built
