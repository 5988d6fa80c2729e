"""Statements per partner, period and currency, both directions, summed by the database."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command

from apps.settlement.export import statement_csv
from apps.settlement.models import Dispute, Statement, StatementLine
from apps.settlement.selectors import statement_summary
from apps.settlement.services import (
    dispute_accept,
    statement_approve,
    statement_close,
    statements_build,
)
from apps.settlement.tasks import statements_build_task

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOV = dt.date(2026, 11, 1)
DEC = dt.date(2026, 12, 1)


def _statement(direction: str, period: dt.date = NOV) -> Statement:
    return Statement.objects.get(
        direction=direction, country_code="TR", party_id="ANA", period_start=period
    )


def _november(cdrs):
    """Two clean payable CDRs, one mispriced (held out), two receivable ones."""
    cdrs.received(kwh=Decimal("20"))  # 10.0000 / 12.0000
    cdrs.received(kwh=Decimal("7.3333"))  # 3.6667 / 4.4000 (half up)
    mispriced = cdrs.received(kwh=Decimal("10"), excl=Decimal("9.99"), incl=Decimal("11.99"))
    cdrs.ours(kwh=Decimal("11.1"), excl=Decimal("4.4401"), incl=Decimal("5.3281"))
    cdrs.ours(kwh=Decimal("2.25"), excl=Decimal("0.9000"), incl=Decimal("1.0800"))
    # Our own driver at our own station is no roaming: no statement.
    cdrs.ours(token=("TR", "ECH", "ECH-DRIVER-1"), excl=Decimal("100"), incl=Decimal("120"))
    # A December CDR is not November's.
    cdrs.received(start=dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    return mispriced


def test_statements_in_both_directions_with_exact_sums_and_held_out_cdrs(cdrs):
    mispriced = _november(cdrs)
    built = statements_build(period_start=NOV)
    assert len(built) == 2

    payable = _statement("payable")
    assert payable.status == "draft"
    assert payable.cdr_count == 2
    assert payable.energy_kwh == Decimal("27.3333")
    assert payable.total_excl_vat == Decimal("13.6667")
    assert payable.total_incl_vat == Decimal("16.4000")
    assert payable.held_count == 1
    assert payable.held_excl_vat == Decimal("9.9900")
    assert payable.connection == cdrs.connection
    held = StatementLine.objects.get(statement=payable, held=True)
    assert held.cdr == mispriced
    assert held.hold_reason == "price_deviation"

    receivable = _statement("receivable")
    assert receivable.cdr_count == 2
    assert receivable.energy_kwh == Decimal("13.3500")
    assert receivable.total_excl_vat == Decimal("5.3401")
    assert receivable.total_incl_vat == Decimal("6.4081")
    assert receivable.held_count == 0


def test_the_net_is_receivable_minus_payable_per_partner_and_month(cdrs):
    _november(cdrs)
    statements_build(period_start=NOV)
    [row] = statement_summary(period_start=NOV)
    assert (row["country_code"], row["party_id"], row["currency"]) == ("TR", "ANA", "TRY")
    assert row["receivable_excl_vat"] == Decimal("5.3401")
    assert row["payable_excl_vat"] == Decimal("13.6667")
    assert row["net_excl_vat"] == Decimal("-8.3266")
    assert row["net_incl_vat"] == Decimal("6.4081") - Decimal("16.4000")
    assert row["held_count"] == 1


def test_rebuilding_a_draft_is_idempotent_and_takes_in_what_changed(cdrs):
    mispriced = _november(cdrs)
    statements_build(period_start=NOV)
    statements_build(period_start=NOV)
    payable = _statement("payable")
    assert StatementLine.objects.filter(statement=payable).count() == 3
    assert payable.total_excl_vat == Decimal("13.6667")
    # Staff accept the disputed one: the draft, rebuilt, now covers it.
    dispute_accept(dispute=Dispute.objects.get(cdr=mispriced), by=None, reason="agreed price")
    statements_build(period_start=NOV)
    payable.refresh_from_db()
    assert (payable.cdr_count, payable.held_count) == (3, 0)
    assert payable.total_excl_vat == Decimal("23.6567")


def test_a_closed_statement_never_changes_and_a_late_cdr_goes_into_the_next(cdrs):
    _november(cdrs)
    statements_build(period_start=NOV)
    payable = _statement("payable")
    statement_approve(statement=payable, by=None)
    statement_close(statement=payable, by=None)
    lines_before = set(
        StatementLine.objects.filter(statement=payable).values_list("cdr_id", "held")
    )

    late = cdrs.received(start=dt.datetime(2026, 11, 29, 12, 0, tzinfo=UTC), kwh=Decimal("4"))
    statements_build(period_start=NOV)
    payable.refresh_from_db()
    assert payable.status == "closed"
    assert payable.total_excl_vat == Decimal("13.6667")
    assert set(StatementLine.objects.filter(statement=payable).values_list("cdr_id", "held")) == (
        lines_before
    )

    statements_build(period_start=DEC)
    december = _statement("payable", DEC)
    covered = set(
        StatementLine.objects.filter(statement=december, held=False).values_list(
            "cdr_id", flat=True
        )
    )
    assert late.pk in covered
    assert december.cdr_count == 2  # the late one and the December one
    assert december.total_excl_vat == Decimal("12.0000")


def test_statuses_move_only_forward(cdrs):
    _november(cdrs)
    statements_build(period_start=NOV)
    payable = _statement("payable")
    with pytest.raises(ValidationError):
        statement_close(statement=payable, by=None)  # a draft is approved first
    statement_approve(statement=payable, by=None, reason="checked by finance")
    with pytest.raises(ValidationError):
        statement_approve(statement=payable, by=None)
    assert payable.history.latest().history_change_reason == "approved: checked by finance"


def test_a_credit_cdr_nets_against_its_original_in_a_later_statement(cdrs):
    original = cdrs.received(kwh=Decimal("20"))
    statements_build(period_start=NOV)
    november = _statement("payable")
    statement_approve(statement=november, by=None)
    statement_close(statement=november, by=None)
    # In December the partner credits it and sends a corrected CDR.
    december_day = dt.datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    cdrs.received(credit_of=original.cdr_id, kwh=Decimal("20"), start=december_day)
    cdrs.received(kwh=Decimal("18"), start=december_day)
    statements_build(period_start=DEC)
    december = _statement("payable", DEC)
    assert december.cdr_count == 2
    assert december.credit_count == 1
    assert december.total_excl_vat == Decimal("-1.0000")  # -10.00 + 9.00
    assert december.energy_kwh == Decimal("-2.0000")


def test_a_held_out_cdr_credited_later_settles_to_nothing(cdrs):
    mispriced = cdrs.received(kwh=Decimal("10"), excl=Decimal("9.99"), incl=Decimal("11.99"))
    statements_build(period_start=NOV)
    november = _statement("payable")
    statement_approve(statement=november, by=None)
    statement_close(statement=november, by=None)
    assert november.held_count == 1
    cdrs.received(
        credit_of=mispriced.cdr_id,
        kwh=Decimal("10"),
        excl=Decimal("9.99"),
        incl=Decimal("11.99"),
        start=dt.datetime(2026, 12, 3, 8, 0, tzinfo=UTC),
    )
    statements_build(period_start=DEC)
    december = _statement("payable", DEC)
    assert (december.cdr_count, december.held_count) == (2, 0)
    assert december.total_excl_vat == Decimal("0.0000")


def test_the_csv_has_a_row_per_cdr_and_the_held_out_ones_line_by_line(cdrs):
    mispriced = _november(cdrs)
    statements_build(period_start=NOV)
    payable = _statement("payable")
    rows = list(csv.DictReader(io.StringIO("".join(statement_csv(statement=payable)))))
    kinds = [row["row"] for row in rows]
    assert kinds.count("cdr") == 2
    assert kinds.count("held_out") == 1
    assert kinds[-1] == "total"
    held = next(row for row in rows if row["row"] == "held_out")
    assert held["cdr_id"] == mispriced.cdr_id
    assert held["hold_reason"] == "Price deviates from the partner's tariff"
    assert "total_cost TRY" in held["detail"]
    lines = {row["line"]: row for row in rows if row["row"] == "line"}
    assert set(lines) == {"energy", "total"}
    assert (lines["total"]["partner_excl_vat"], lines["total"]["our_excl_vat"]) == (
        "9.9900",
        "5.0000",
    )
    assert (lines["total"]["partner_incl_vat"], lines["total"]["our_incl_vat"]) == (
        "11.9900",
        "6.0000",
    )
    assert sum(Decimal(row["total_excl_vat"]) for row in rows if row["row"] == "cdr") == Decimal(
        rows[-1]["total_excl_vat"]
    )
    assert rows[-1]["detail"] == "2 CDRs (0 credit), 1 held out"


def test_the_settle_command_builds_one_partner(cdrs, capsys):
    _november(cdrs)
    call_command("settle", "--period", "2026-11", "--partner", "anatolia charge")
    out = capsys.readouterr().out
    assert "2 draft statements for 2026-11" in out
    assert _statement("payable").cdr_count == 2


def test_the_monthly_job_settles_the_month_that_ended(cdrs):
    _november(cdrs)
    with time_machine.travel(dt.datetime(2026, 12, 1, 4, 30, tzinfo=UTC)):
        assert statements_build_task() == 2
    assert _statement("receivable").cdr_count == 2


def test_a_cdr_of_ours_that_staff_hold_out_is_not_receivable(cdrs):
    from django.contrib.auth import get_user_model

    from apps.settlement.services import dispute_open_by_staff

    kept = cdrs.ours(excl=Decimal("2.0000"), incl=Decimal("2.4000"))
    questioned = cdrs.ours(excl=Decimal("50.0000"), incl=Decimal("60.0000"))
    staff = get_user_model().objects.create_user("zeynep", is_staff=True)
    dispute_open_by_staff(cdr=questioned, by=staff, reason="meter fault at the station")
    statements_build(period_start=NOV)
    receivable = _statement("receivable")
    assert (receivable.cdr_count, receivable.total_excl_vat) == (1, Decimal("2.0000"))
    assert (receivable.held_count, receivable.held_excl_vat) == (1, Decimal("50.0000"))
    assert StatementLine.objects.get(statement=receivable, held=False).cdr == kept
