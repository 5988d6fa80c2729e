"""Staff work disputes (with a reason) and statements in the admin; exports render."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from apps.settlement.models import Dispute, Statement
from apps.settlement.services import statements_build

pytestmark = pytest.mark.django_db
NOV = dt.date(2026, 11, 1)


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("alice", "alice@echargo.example", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def november(cdrs):
    clean = cdrs.received(kwh=Decimal("20"))
    mispriced = cdrs.received(kwh=Decimal("10"), excl=Decimal("9.99"), incl=Decimal("11.99"))
    cdrs.ours(kwh=Decimal("5"), excl=Decimal("2.0000"), incl=Decimal("2.4000"))
    statements_build(period_start=NOV)
    return clean, mispriced


def test_dispute_pages_show_both_computations_without_json(staff, november):
    _, mispriced = november
    dispute = Dispute.objects.get(cdr=mispriced)
    listing = staff.get(reverse("admin:settlement_dispute_changelist"))
    assert listing.status_code == 200
    assert mispriced.cdr_id in listing.text
    page = staff.get(reverse("admin:settlement_dispute_change", args=[dispute.pk]))
    assert page.status_code == 200
    assert "partner excl. VAT" in page.text
    assert "9.9900" in page.text
    assert "5.0000" in page.text
    assert "{&quot;" not in page.text
    assert '{"' not in page.text


def test_rejecting_a_dispute_asks_why_and_records_it(staff, november):
    _, mispriced = november
    dispute = Dispute.objects.get(cdr=mispriced)
    url = reverse("admin:settlement_dispute_changelist")
    ask = staff.post(url, {"action": "reject", "_selected_action": [dispute.pk]})
    assert ask.status_code == 200
    assert "reason" in ask.text
    done = staff.post(
        url,
        {"action": "reject", "_selected_action": [dispute.pk], "apply": "1", "reason": "0.50/kWh"},
        follow=True,
    )
    assert done.status_code == 200
    dispute.refresh_from_db()
    assert dispute.status == "rejected"
    latest = dispute.history.latest()
    assert (latest.history_user.username, latest.history_change_reason) == (
        "alice",
        "rejected: 0.50/kWh",
    )


def test_statement_pages_csv_print_and_summary_render(staff, november):
    payable = Statement.objects.get(direction="payable")
    assert staff.get(reverse("admin:settlement_statement_changelist")).status_code == 200
    assert (
        staff.get(reverse("admin:settlement_statement_changelist") + "?period=2026-11").status_code
        == 200
    )
    change = staff.get(reverse("admin:settlement_statement_change", args=[payable.pk]))
    assert change.status_code == 200
    assert "they owe us" in change.text or "we owe them" in change.text

    exported = staff.get(reverse("admin:settlement_statement_csv", args=[payable.pk]))
    assert exported.status_code == 200
    assert exported["Content-Type"].startswith("text/csv")
    body = b"".join(exported.streaming_content).decode()
    assert body.count("\nheld_out,") == 1

    printable = staff.get(reverse("admin:settlement_statement_print", args=[payable.pk]))
    assert printable.status_code == 200
    assert "Held out (1)" in printable.text
    assert "10.0000" in printable.text

    summary = staff.get(reverse("admin:settlement_statement_summary"))
    assert summary.status_code == 200
    assert "TR*ANA" in summary.text
    assert "-8.0000" in summary.text  # receivable 2.00 - payable 10.00


def test_staff_approve_then_close_a_statement(staff, november):
    payable = Statement.objects.get(direction="payable")
    url = reverse("admin:settlement_statement_changelist")
    staff.post(url, {"action": "approve", "_selected_action": [payable.pk]})
    staff.post(url, {"action": "close", "_selected_action": [payable.pk]})
    payable.refresh_from_db()
    assert payable.status == "closed"
    assert payable.history.latest().history_user.username == "alice"
