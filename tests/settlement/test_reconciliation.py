"""Every CDR a partner sends us is checked; what does not hold opens a dispute."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from apps.sessions.models import Session
from apps.settlement.models import Dispute, DisputeReason, DisputeStatus
from apps.settlement.services import (
    dispute_accept,
    dispute_credit,
    dispute_reject,
    dispute_reopen,
)

pytestmark = pytest.mark.django_db
UTC = dt.UTC
SEEN_START = dt.datetime(2026, 11, 10, 10, 0, tzinfo=UTC)


def test_a_correctly_priced_cdr_opens_no_dispute(cdrs):
    cdr = cdrs.received(kwh=Decimal(20))  # 20 kWh x 0.50 = 10.00, 12.00 incl. VAT
    assert not Dispute.objects.filter(cdr=cdr).exists()


def test_a_deviation_within_tolerance_is_accepted(cdrs):
    cdr = cdrs.received(kwh=Decimal(20), excl=Decimal("10.01"), incl=Decimal("12.01"))
    assert not Dispute.objects.filter(cdr=cdr).exists()


def test_a_cdr_whose_price_deviates_opens_a_dispute_with_both_computations(cdrs):
    cdr = cdrs.received(kwh=Decimal(20), excl=Decimal("11.00"), incl=Decimal("13.20"))
    dispute = Dispute.objects.get(cdr=cdr)
    assert dispute.status == DisputeStatus.OPEN
    assert dispute.reason == DisputeReason.PRICE_DEVIATION
    assert dispute.partner_total_excl_vat == Decimal("11.00")
    assert dispute.our_total_excl_vat == Decimal("10.00")
    assert dispute.our_total_incl_vat == Decimal("12.00")
    assert dispute.deviation_excl_vat == Decimal("1.00")
    total = next(line for line in dispute.lines if line["line"] == "total")
    assert total == {
        "line": "total",
        "partner_excl_vat": "11.0000",
        "partner_incl_vat": "13.2000",
        "our_excl_vat": "10.0000",
        "our_incl_vat": "12.0000",
    }
    assert "published tariff ANA-AC" in dispute.tariff_source
    assert "ENERGY" in dispute.our_breakdown
    # The opening step is in history, attributed to the system user, with the why.
    first = dispute.history.earliest()
    assert first.history_user.username == "ocpi-system"
    assert "total_cost TRY" in first.history_change_reason


def test_the_cdrs_own_tariff_copy_prices_it_when_we_hold_no_published_tariff(cdrs):
    document = cdrs.document(owner=cdrs.partner_cpo, tariff_id="ANA-PRIVATE", kwh=Decimal(10))
    document["tariffs"] = [
        {
            "country_code": "TR",
            "party_id": "ANA",
            "id": "ANA-PRIVATE",
            "currency": "TRY",
            "elements": [
                {"price_components": [{"type": "ENERGY", "price": 0.70, "vat": 20, "step_size": 1}]}
            ],
            "last_updated": "2026-01-01T00:00:00Z",
        }
    ]
    document["total_cost"] = {"excl_vat": Decimal("5.00"), "incl_vat": Decimal("6.00")}
    cdr = cdrs.post(document)
    dispute = Dispute.objects.get(cdr=cdr)
    assert dispute.our_total_excl_vat == Decimal("7.0000")
    assert dispute.tariff_source == "tariff ANA-PRIVATE as carried in the CDR"


def test_a_cdr_for_a_token_that_is_not_ours_opens_a_dispute(cdrs):
    cdr = cdrs.received(token=("TR", "ECH", "STRANGER-9"))
    dispute = Dispute.objects.get(cdr=cdr)
    assert dispute.reason == DisputeReason.UNKNOWN_TOKEN
    assert "STRANGER-9" in dispute.findings[0]["message"]


def test_a_second_cdr_for_the_same_session_is_a_duplicate(cdrs):
    first = cdrs.received(session_id="S-1")
    second = cdrs.received(session_id="s-1")  # CiString: the same session
    assert not Dispute.objects.filter(cdr=first).exists()
    dispute = Dispute.objects.get(cdr=second)
    assert dispute.reason == DisputeReason.DUPLICATE
    assert first.cdr_id in dispute.findings[0]["message"]


def test_a_replacement_after_a_credit_is_not_a_duplicate(cdrs):
    original = cdrs.received(session_id="S-2", excl=Decimal("11.00"), incl=Decimal("13.20"))
    cdrs.received(
        session_id="S-2", credit_of=original.cdr_id, excl=Decimal("11.00"), incl=Decimal("13.20")
    )
    replacement = cdrs.received(session_id="S-2")
    assert not Dispute.objects.filter(cdr=replacement).exists()


def _session(**kwargs):
    values = {
        "owner": kwargs.pop("owner"),
        "country_code": "TR",
        "party_id": "ANA",
        "session_id": "S-SEEN",
        "start_date_time": dt.datetime(2026, 11, 10, 10, 0, tzinfo=UTC),
        "end_date_time": dt.datetime(2026, 11, 10, 11, 0, tzinfo=UTC),
        "kwh": Decimal(20),
        "token_country_code": "TR",
        "token_party_id": "ECH",
        "token_uid": "ECH-DRIVER-1",
        "token_type": "RFID",
        "token_contract_id": "TR-ECH-C1",
        "auth_method": "WHITELIST",
        "location_id": "LOC1",
        "evse_uid": "EVSE1",
        "connector_id": "1",
        "currency": "TRY",
        "status": "COMPLETED",
        "last_updated": dt.datetime(2026, 11, 10, 11, 0, tzinfo=UTC),
        "time_zone": "Europe/Istanbul",
    }
    values.update(kwargs)
    return Session.objects.create(**values)


def test_a_cdr_matching_the_session_we_saw_opens_no_dispute(cdrs):
    _session(owner=cdrs.partner_cpo)
    cdr = cdrs.received(session_id="S-SEEN", start=SEEN_START)
    assert not Dispute.objects.filter(cdr=cdr).exists()


def test_a_cdr_with_more_energy_than_the_session_we_saw_opens_a_dispute(cdrs):
    _session(owner=cdrs.partner_cpo, kwh=Decimal(15))
    cdr = cdrs.received(session_id="S-SEEN", kwh=Decimal(20), start=SEEN_START)
    dispute = Dispute.objects.get(cdr=cdr)
    assert dispute.reason == DisputeReason.SESSION_MISMATCH
    assert "energy 20" in dispute.findings[0]["message"]


def test_a_cdr_for_a_session_we_never_saw_opens_a_dispute(cdrs):
    _session(owner=cdrs.partner_cpo)  # this partner sends us its sessions
    cdr = cdrs.received(session_id="S-NEVER")
    assert Dispute.objects.get(cdr=cdr).reason == DisputeReason.UNKNOWN_SESSION


def test_a_partner_that_sends_no_sessions_is_not_held_to_them(cdrs):
    cdr = cdrs.received(session_id="S-NEVER")
    assert not Dispute.objects.filter(cdr=cdr).exists()


def test_unknown_sessions_can_be_let_through_by_setting(cdrs, settings):
    settings.SETTLEMENT_DISPUTE_UNKNOWN_SESSION = False
    _session(owner=cdrs.partner_cpo)
    cdr = cdrs.received(session_id="S-NEVER")
    assert not Dispute.objects.filter(cdr=cdr).exists()


def test_a_cdr_without_any_tariff_cannot_be_checked_and_is_disputed(cdrs):
    cdr = cdrs.received(tariff_id=None)
    assert Dispute.objects.get(cdr=cdr).reason == DisputeReason.NO_TARIFF


def test_a_credit_for_a_cdr_we_never_received_is_disputed(cdrs):
    credit = cdrs.received(credit_of="NEVER-SENT")
    assert Dispute.objects.get(cdr=credit).reason == DisputeReason.UNKNOWN_CREDIT_REFERENCE


def test_dispute_workflow_keeps_who_and_why_in_history(cdrs):
    staff = get_user_model().objects.create_user("ayse", is_staff=True)
    cdr = cdrs.received(excl=Decimal("11.00"), incl=Decimal("13.20"))
    dispute = Dispute.objects.get(cdr=cdr)
    with pytest.raises(ValidationError):
        dispute_accept(dispute=dispute, by=staff, reason="  ")
    dispute = dispute_reject(dispute=dispute, by=staff, reason="price list says 0.50")
    assert dispute.status == DisputeStatus.REJECTED
    assert dispute.resolved_by == staff
    with pytest.raises(ValidationError):
        dispute_accept(
            dispute=dispute, by=staff, reason="a rejected dispute must be reopened first"
        )
    dispute = dispute_reopen(dispute=dispute, by=staff, reason="partner sent a contract addendum")
    dispute = dispute_accept(dispute=dispute, by=staff, reason="addendum: 0.55 agreed")
    steps = [
        (h.status, h.history_user.username, h.history_change_reason)
        for h in dispute.history.order_by("history_date", "history_id")
    ]
    assert steps[0][:2] == ("open", "ocpi-system")
    assert steps[1:] == [
        ("rejected", "ayse", "rejected: price list says 0.50"),
        ("open", "ayse", "open: partner sent a contract addendum"),
        ("accepted", "ayse", "accepted: addendum: 0.55 agreed"),
    ]


def test_a_credit_cdr_from_the_partner_settles_the_dispute(cdrs):
    original = cdrs.received(excl=Decimal("11.00"), incl=Decimal("13.20"))
    credit = cdrs.received(credit_of=original.cdr_id, excl=Decimal("11.00"), incl=Decimal("13.20"))
    dispute = Dispute.objects.get(cdr=original)
    assert dispute.status == DisputeStatus.CREDITED
    assert dispute.credit_cdr == credit
    assert not Dispute.objects.filter(cdr=credit).exists()
    assert "credit CDR" in dispute.history.latest().history_change_reason


def test_staff_cannot_credit_with_a_cdr_that_credits_something_else(cdrs):
    original = cdrs.received(excl=Decimal("11.00"), incl=Decimal("13.20"))
    other = cdrs.received()
    unrelated_credit = cdrs.received(credit_of=other.cdr_id)
    with pytest.raises(ValidationError):
        dispute_credit(
            dispute=Dispute.objects.get(cdr=original),
            credit_cdr=unrelated_credit,
            by=None,
            reason="wrong one",
        )


def test_without_a_session_id_the_same_token_and_times_is_a_duplicate(cdrs):
    start = dt.datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    first = cdrs.received(start=start)
    second = cdrs.received(start=start)  # same token, start and end, another id
    assert not Dispute.objects.filter(cdr=first).exists()
    assert Dispute.objects.get(cdr=second).reason == DisputeReason.DUPLICATE


def test_reconciling_again_keeps_the_one_dispute(cdrs):
    from apps.settlement.services import cdr_reconcile

    cdr = cdrs.received(excl=Decimal("11.00"), incl=Decimal("13.20"))
    assert cdr_reconcile(cdr=cdr) == Dispute.objects.get(cdr=cdr)
    assert Dispute.objects.count() == 1


def test_reconcile_command_checks_cdrs_received_before_settlement_listened(cdrs, settings):
    from django.core.management import call_command

    from apps.cdrs.signals import cdr_received

    with _receiver_off(cdr_received):
        mispriced = cdrs.received(excl=Decimal("11.00"), incl=Decimal("13.20"))
        cdrs.received(kwh=Decimal(3), start=dt.datetime(2026, 11, 12, 9, 0, tzinfo=UTC))
    assert not Dispute.objects.exists()
    call_command("reconcile_cdrs", "--period", "2026-11")
    assert list(Dispute.objects.values_list("cdr", flat=True)) == [mispriced.pk]


def test_staff_may_hold_one_of_our_cdrs_out(cdrs):
    from apps.settlement.services import dispute_open_by_staff

    staff = get_user_model().objects.create_user("mehmet", is_staff=True)
    ours = cdrs.ours()
    dispute = dispute_open_by_staff(cdr=ours, by=staff, reason="driver disputes the session")
    assert (dispute.reason, dispute.status) == (DisputeReason.STAFF, DisputeStatus.OPEN)
    assert dispute.history.earliest().history_user == staff
    with pytest.raises(ValidationError):
        dispute_open_by_staff(cdr=ours, by=staff, reason="again")


class _receiver_off:
    def __init__(self, signal):
        self.signal = signal

    def __enter__(self):
        self.receivers = self.signal.receivers
        self.signal.receivers = []
        self.signal.sender_receivers_cache.clear()

    def __exit__(self, *exc):
        self.signal.receivers = self.receivers
        self.signal.sender_receivers_cache.clear()


def test_a_failing_reconciliation_never_refuses_the_partners_cdr(cdrs, caplog):
    import json

    from apps.cdrs.models import Cdr
    from apps.cdrs.signals import cdr_received

    cdr = cdrs.store(cdrs.document(owner=cdrs.partner_cpo), owner=cdrs.partner_cpo, received=False)
    document = json.loads(cdr.ocpi_json)
    document["cdr_token"] = "not an object"  # nothing the checks expect
    cdr.ocpi_json = json.dumps(document)
    cdr_received.send(sender=Cdr, cdr=cdr)  # raises nothing
    assert "Reconciliation of CDR" in caplog.text
    assert not Dispute.objects.filter(cdr=cdr).exists()
    assert Cdr.objects.filter(pk=cdr.pk).exists()  # the transaction is still usable


def test_the_session_the_cdrs_app_linked_is_the_one_compared(cdrs):
    from apps.cdrs.models import Cdr

    seen = _session(owner=cdrs.partner_cpo, session_id="S-LINKED", kwh=Decimal(5))
    cdr = cdrs.store(
        cdrs.document(owner=cdrs.partner_cpo, session_id="S-LINKED", start=SEEN_START),
        owner=cdrs.partner_cpo,
        received=False,
    )
    Cdr.objects.filter(pk=cdr.pk).update(charging_session=seen)
    cdr.refresh_from_db()
    from apps.settlement.services import cdr_reconcile

    dispute = cdr_reconcile(cdr=cdr)
    assert dispute.reason == DisputeReason.SESSION_MISMATCH
    assert "the session had 5" in dispute.findings[0]["message"]
