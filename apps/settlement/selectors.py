"""Settlement reads: a statement's rows for export, its counterpart, and the monthly summary."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Case, DecimalField, F, QuerySet, Sum, Value, When

from .models import HOLDING_STATUSES, Direction, Dispute, Statement, StatementLine

_ZERO = Decimal(0)
_FOUR = Decimal("0.0001")
_SUMMED = ("receivable_excl_vat", "receivable_incl_vat", "payable_excl_vat", "payable_incl_vat")
_AMOUNT: Any = DecimalField(max_digits=20, decimal_places=4)
EXPORT_CDR_FIELDS = (
    "cdr_id",
    "credit",
    "credit_reference_id",
    "session_id",
    "start_date_time",
    "end_date_time",
    "token_uid",
    "token_contract_id",
    "total_energy",
    "total_cost_excl_vat",
    "total_cost_incl_vat",
)


def statement_lines(*, statement: Statement, held: bool | None = None) -> QuerySet[StatementLine]:
    """A statement's lines with their CDR (and dispute) loaded, in CDR order."""
    lines = StatementLine.objects.filter(statement=statement)
    if held is not None:
        lines = lines.filter(held=held)
    return lines.select_related("cdr", "dispute").order_by("cdr__end_date_time", "cdr_id")


def statement_export_rows(*, statement: Statement) -> Iterator[dict[str, Any]]:
    """One dict per covered CDR, streamed in chunks; then the held-out ones with their dispute."""
    included = (
        StatementLine.objects.filter(statement=statement, held=False)
        .order_by("cdr__end_date_time", "cdr_id")
        .values(*(f"cdr__{name}" for name in EXPORT_CDR_FIELDS))
    )
    for row in included.iterator(chunk_size=5000):
        yield {name: row[f"cdr__{name}"] for name in EXPORT_CDR_FIELDS}
    for line in statement_lines(statement=statement, held=True).iterator(chunk_size=500):
        row = {name: getattr(line.cdr, name) for name in EXPORT_CDR_FIELDS}
        row["held"] = True
        row["hold_reason"] = line.get_hold_reason_display()
        row["dispute"] = line.dispute
        yield row


def statement_counterpart(*, statement: Statement) -> Statement | None:
    """The other direction's statement with the same partner, period and currency."""
    other = (
        Direction.PAYABLE if statement.direction == Direction.RECEIVABLE else Direction.RECEIVABLE
    )
    return Statement.objects.filter(
        direction=other,
        country_code=statement.country_code,
        party_id=statement.party_id,
        currency=statement.currency,
        period_start=statement.period_start,
    ).first()


def statement_summary(*, period_start: dt.date | None = None) -> list[dict[str, Any]]:
    """Per partner, month and currency: receivable, payable and the net (what they owe us)."""
    statements = Statement.objects.all()
    if period_start is not None:
        statements = statements.filter(period_start=period_start)

    def part(direction: str, column: str) -> Sum:
        return Sum(
            Case(When(direction=direction, then=F(column)), default=Value(_ZERO)),
            output_field=_AMOUNT,
        )

    rows = (
        statements.values("period_start", "country_code", "party_id", "currency")
        .annotate(
            receivable_count=Sum(
                Case(When(direction=Direction.RECEIVABLE, then=F("cdr_count")), default=Value(0))
            ),
            receivable_excl_vat=part(Direction.RECEIVABLE, "total_excl_vat"),
            receivable_incl_vat=part(Direction.RECEIVABLE, "total_incl_vat"),
            payable_count=Sum(
                Case(When(direction=Direction.PAYABLE, then=F("cdr_count")), default=Value(0))
            ),
            payable_excl_vat=part(Direction.PAYABLE, "total_excl_vat"),
            payable_incl_vat=part(Direction.PAYABLE, "total_incl_vat"),
            held_count=Sum("held_count"),
        )
        .order_by("-period_start", "country_code", "party_id", "currency")
    )
    result = []
    for row in rows:
        for name in _SUMMED:
            # SQLite (the demo) sums decimals in floating point: back to 4 exact places.
            row[name] = Decimal(str(row[name] or 0)).quantize(_FOUR, ROUND_HALF_UP)
        row["net_excl_vat"] = row["receivable_excl_vat"] - row["payable_excl_vat"]
        row["net_incl_vat"] = row["receivable_incl_vat"] - row["payable_incl_vat"]
        result.append(row)
    return result


def dispute_list_open() -> QuerySet[Dispute]:
    """Disputes that keep a CDR out of settlement."""
    return Dispute.objects.filter(status__in=HOLDING_STATUSES).select_related("cdr")
