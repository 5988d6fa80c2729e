"""A statement as CSV: one row per CDR it covers, then each held-out CDR with the reason and
both computations line by line (OCPI has no message to decline a CDR: this is how the partner
learns of a dispute), then the totals."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from echargo.ocpi.fields import format_ocpi_datetime

from .models import Statement
from .selectors import statement_export_rows

HEADER = (
    "row",
    "cdr_id",
    "credit",
    "credit_reference_id",
    "session_id",
    "start_date_time",
    "end_date_time",
    "token_uid",
    "contract_id",
    "energy_kwh",
    "total_excl_vat",
    "total_incl_vat",
    "currency",
    "hold_reason",
    "line",
    "partner_excl_vat",
    "partner_incl_vat",
    "our_excl_vat",
    "our_incl_vat",
    "detail",
)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return format_ocpi_datetime(value)
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def _signed(value: Decimal | None, credit: bool) -> Decimal | None:
    # As the statement counts it: a credit CDR always takes off.
    return None if value is None else (-abs(value) if credit else value)


def statement_csv(*, statement: Statement) -> Iterator[str]:
    """The CSV lines of a statement, streamed (a million CDRs never sit in memory)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    for row in statement_export_rows(statement=statement):
        credit = bool(row["credit"])
        held = row.get("held", False)
        base = [
            "held_out" if held else "cdr",
            row["cdr_id"],
            credit,
            row["credit_reference_id"],
            row["session_id"],
            row["start_date_time"],
            row["end_date_time"],
            row["token_uid"],
            row["token_contract_id"],
            _signed(row["total_energy"], credit),
            _signed(row["total_cost_excl_vat"], credit),
            _signed(row["total_cost_incl_vat"], credit),
            statement.currency,
        ]
        if not held:
            yield writer.writerow([_text(v) for v in base] + [""] * 7)
            continue
        dispute = row["dispute"]
        detail = "; ".join(f["message"] for f in dispute.findings) if dispute else ""
        yield writer.writerow(
            [_text(v) for v in base] + [row["hold_reason"], "", "", "", "", "", detail]
        )
        for line in dispute.lines if dispute else []:
            yield writer.writerow(
                ["line", row["cdr_id"]]
                + [""] * 11
                + [
                    "",
                    line["line"],
                    line["partner_excl_vat"] or "",
                    line["partner_incl_vat"] or "",
                    line["our_excl_vat"] or "",
                    line["our_incl_vat"] or "",
                    dispute.tariff_source if line["line"] == "total" else "",
                ]
            )
    yield writer.writerow(
        ["total"]
        + [""] * 8
        + [
            _text(statement.energy_kwh),
            _text(statement.total_excl_vat),
            _text(statement.total_incl_vat),
            statement.currency,
        ]
        + [""] * 6
        + [
            f"{statement.cdr_count} CDRs ({statement.credit_count} credit), "
            f"{statement.held_count} held out"
        ]
    )
