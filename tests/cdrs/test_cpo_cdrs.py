"""Our CDRs (CPO side): a completed session becomes one CDR with every line total from the
engine, queued by POST to the driver's eMSP only when that is a partner; corrections."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from apps.cdrs.models import Cdr, CdrPartnerPolicy, CorrectionMode
from apps.cdrs.services import CdrError, cdr_correct
from apps.cdrs.signals import cdr_created
from apps.partners.models import OutboxMessage
from tests.factories.cdrs import completed_session

pytestmark = pytest.mark.django_db


def test_a_completed_session_becomes_a_cdr_with_every_line_total(cpo, station):
    session = completed_session(cpo, station, kwh=4, minutes=60, parking_minutes=30)

    cdr = Cdr.objects.get(charging_session=session)
    assert cdr.cdr_id == session.session_id
    assert cdr.received_from is None
    # FLAT 1.00; 4 kWh x 0.25; 1 h x 2.00; 0.5 h parked x 3.00; VAT 20 %.
    assert (cdr.total_fixed_cost_excl_vat, cdr.total_fixed_cost_incl_vat) == (
        Decimal("1.0000"),
        Decimal("1.2000"),
    )
    assert cdr.total_energy == Decimal("4.0000")
    assert (cdr.total_energy_cost_excl_vat, cdr.total_energy_cost_incl_vat) == (
        Decimal("1.0000"),
        Decimal("1.2000"),
    )
    assert cdr.total_time == Decimal("1.5")
    assert (cdr.total_time_cost_excl_vat, cdr.total_time_cost_incl_vat) == (
        Decimal("2.0000"),
        Decimal("2.4000"),
    )
    assert cdr.total_parking_time == Decimal("0.5")
    assert (cdr.total_parking_cost_excl_vat, cdr.total_parking_cost_incl_vat) == (
        Decimal("1.5000"),
        Decimal("1.8000"),
    )
    assert cdr.total_reservation_cost_excl_vat is None
    assert (cdr.total_cost_excl_vat, cdr.total_cost_incl_vat) == (
        Decimal("5.5000"),
        Decimal("6.6000"),
    )
    # The tariff in force at the start is carried, and the location as it is ours.
    assert [t["id"] for t in cdr.tariffs] == ["ALL-IN"]
    assert (cdr.location_id, cdr.evse_uid, cdr.connector_id) == (
        session.location_id,
        session.evse_uid,
        session.connector_id,
    )
    document = json.loads(cdr.ocpi_json)
    assert document["total_parking_cost"] == {"excl_vat": 1.5, "incl_vat": 1.8}
    assert document["cdr_location"]["evse_id"]
    assert {d["type"] for p in document["charging_periods"] for d in p["dimensions"]} <= {
        "ENERGY",
        "TIME",
        "PARKING_TIME",
    }


def test_our_own_drivers_cdr_is_stored_not_sent(cpo, station):
    completed_session(cpo, station)
    assert Cdr.objects.count() == 1
    assert not OutboxMessage.objects.filter(module="cdrs").exists()


def test_a_partner_drivers_cdr_is_queued_by_post_to_its_emsp(cpo, station, bosphorus_token):
    sent = []
    cdr_created.connect(lambda sender, cdr, **kw: sent.append(cdr.cdr_id), weak=False)
    session = completed_session(cpo, station, token=bosphorus_token)
    cdr = Cdr.objects.get(charging_session=session)
    message = OutboxMessage.objects.get(module="cdrs")
    assert (message.method, message.path, message.kind) == ("POST", "", "billing")
    assert (message.to_country_code, message.to_party_id) == ("TR", "BOS")
    assert message.object_key == f"TR/ECH/{cdr.cdr_id}"
    assert json.loads(message.body)["id"] == cdr.cdr_id
    assert sent[-1] == cdr.cdr_id


def test_a_session_that_cannot_be_priced_is_flagged_and_still_stops(cpo, station):
    connector = station.evses.get().connectors.get()
    connector.tariff_ids = []
    connector.save()
    session = completed_session(cpo, station)
    session.refresh_from_db()
    assert session.status == "COMPLETED"
    assert session.needs_review
    assert any("No CDR" in f["note"] for f in session.flags)
    assert not Cdr.objects.exists()


def test_a_credit_cdr_negates_the_amounts_and_a_replacement_is_repriced(
    cpo, station, bosphorus_token
):
    session = completed_session(cpo, station, token=bosphorus_token)
    original = Cdr.objects.get(charging_session=session)
    history_before = original.history.count()

    credit, replacement = cdr_correct(cdr=original, replace=True, reason="partner dispute")

    assert credit.credit
    assert credit.credit_reference_id == original.cdr_id
    assert credit.cdr_id == f"{original.cdr_id}-C"
    assert len(credit.cdr_id) <= 39
    assert credit.total_cost_excl_vat == -original.total_cost_excl_vat
    assert credit.total_energy_cost_incl_vat == -original.total_energy_cost_incl_vat
    assert credit.total_energy == original.total_energy
    assert replacement is not None
    assert not replacement.credit
    assert len(replacement.cdr_id) <= 36
    assert replacement.cdr_id != original.cdr_id
    assert replacement.total_cost_excl_vat == original.total_cost_excl_vat
    # The original is unchanged (immutable); both new CDRs are POSTed, credit first.
    original.refresh_from_db()
    assert original.history.count() == history_before
    posts = OutboxMessage.objects.filter(module="cdrs").order_by("pk")
    ids = [json.loads(m.body)["id"] for m in posts]
    assert ids == [original.cdr_id, credit.cdr_id, replacement.cdr_id]
    assert json.loads(posts[1].body)["credit"] is True
    with pytest.raises(CdrError, match="credited already"):
        cdr_correct(cdr=original, replace=False, reason="again")


def test_a_partner_that_ignores_credits_gets_the_new_cdr_only(cpo, station, bosphorus_token):
    CdrPartnerPolicy.objects.create(
        connection=bosphorus_token.owner.connection, correction=CorrectionMode.NEW_ONLY
    )
    session = completed_session(cpo, station, token=bosphorus_token)
    original = Cdr.objects.get(charging_session=session)
    with pytest.raises(CdrError, match="no credit CDRs"):
        cdr_correct(cdr=original, replace=False, reason="dispute")

    credit, replacement = cdr_correct(
        cdr=original,
        replace=True,
        changes={"total_cost_excl_vat": Decimal("4.0000"), "total_cost_incl_vat": Decimal("4.8")},
        reason="agreed lower price",
    )

    ids = [json.loads(m.body)["id"] for m in OutboxMessage.objects.filter(module="cdrs")]
    assert ids == [original.cdr_id, replacement.cdr_id]
    assert Cdr.objects.filter(pk=credit.pk).exists()  # our books still carry the credit
    assert json.loads(replacement.ocpi_json)["total_cost"] == {"excl_vat": 4.0, "incl_vat": 4.8}
