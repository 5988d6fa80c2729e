"""CDRs with a partner that is not Django (tests/foreign_partner.py: lower-case headers, small
pages, failing answers): our CDRs reach its receiver exactly once through an outage and a
worker that died mid-delivery, its `location` answer is kept; its CDRs are pulled page by
page, stored once, and a broken pull stores nothing twice and deletes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from apps.cdrs.models import Cdr
from apps.partners.models import OutboxMessage
from apps.partners.outbox import _claim_next, _send, outbox_deliver
from apps.partners.pull import pull_run
from tests.factories.cdrs import CdrData, CdrTokenData, completed_session
from tests.factories.tokens import TokenFactory
from tests.foreign.conftest import foreign, foreign_partner  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_cdrs(foreign, foreign_partner):  # noqa: F811
    foreign.endpoints = [
        *foreign.endpoints,
        *foreign_partner.endpoints("cdrs"),
        *foreign_partner.endpoints("cdrs", role="RECEIVER"),
    ]
    foreign.save()
    return foreign


@pytest.fixture
def foreign_driver(with_cdrs):
    party = with_cdrs.parties.get(role="EMSP")
    return TokenFactory(owner=party, country_code="DE", party_id="FOR", uid="FOR-0001")


def _posts(partner):
    return [r for r in partner.received("POST") if r.path == "/ocpi/emsp/2.2.1/cdrs"]


def test_a_cdr_survives_a_partner_that_is_down_and_is_delivered_once(
    cpo,
    station,
    foreign_driver,
    foreign_partner,  # noqa: F811
):
    foreign_partner.fail_receiver = True
    session = completed_session(cpo, station, token=foreign_driver)
    cdr = Cdr.objects.get(charging_session=session)
    message = OutboxMessage.objects.get(module="cdrs")

    for minutes in (0, 30, 90):  # down: each try fails and is retried later
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes)):
            assert outbox_deliver(connection_id=message.connection_id) == 0
        message.refresh_from_db()
        assert message.status == "pending"
    foreign_partner.fail_receiver = False
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2)):
        assert outbox_deliver(connection_id=message.connection_id) == 1
        assert outbox_deliver(connection_id=message.connection_id) == 0

    message.refresh_from_db()
    assert message.status == "delivered"
    posts = _posts(foreign_partner)
    assert len(posts) == 4
    # The routing headers and the CDR itself, as the partner read them (lower-case names).
    assert posts[-1].headers["ocpi-to-party-id"] == "FOR"
    assert posts[-1].body["id"] == cdr.cdr_id
    assert posts[-1].body["total_fixed_cost"] == {"excl_vat": 1.0, "incl_vat": 1.2}
    assert list(foreign_partner.held["cdrs"]) == [f"TR/ECH/{cdr.cdr_id}".upper()]
    cdr.refresh_from_db()
    assert cdr.location_header == (
        f"{foreign_partner.url}/ocpi/emsp/2.2.1/cdrs/TR/ECH/{cdr.cdr_id}"
    )


def test_a_worker_killed_mid_delivery_is_redelivered_and_not_doubled(
    cpo,
    station,
    foreign_driver,
    foreign_partner,  # noqa: F811
):
    session = completed_session(cpo, station, token=foreign_driver)
    cdr = Cdr.objects.get(charging_session=session)
    connection_id = OutboxMessage.objects.get(module="cdrs").connection_id
    # A worker leases the message and POSTs it, then dies before recording the answer.
    leased = _claim_next(connection_id, timezone.now())
    leased.connection.refresh_from_db()
    _send(leased)
    assert outbox_deliver(connection_id=connection_id) == 0, "the lease still holds"

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5)):
        assert outbox_deliver(connection_id=connection_id) == 1

    assert len(_posts(foreign_partner)) == 2  # sent twice, held once
    assert len(foreign_partner.held["cdrs"]) == 1
    assert OutboxMessage.objects.get(module="cdrs").status == "delivered"
    cdr.refresh_from_db()
    assert cdr.location_header.endswith(cdr.cdr_id)


def _foreign_cdr(i: int) -> dict:
    return CdrData(
        country_code="DE",
        party_id="FOR",
        id=f"FOR-CDR-{i:03d}",
        cdr_token=CdrTokenData(country_code="TR", party_id="ECH"),
    )


def _jsonable(cdr: dict) -> dict:
    import json

    return json.loads(json.dumps(cdr, default=float))


def test_pull_from_a_foreign_cpo_in_small_pages_stores_each_cdr_once(
    with_cdrs,
    foreign_partner,  # noqa: F811
):
    foreign_partner.page_size = 3
    foreign_partner.lists["cdrs"] = [_jsonable(_foreign_cdr(i)) for i in range(8)]

    result = pull_run(connection=with_cdrs, module="cdrs")
    assert result.completed, result.errors
    assert (result.pages, result.received) == (3, 8)
    assert Cdr.objects.filter(received_from=with_cdrs).count() == 8

    again = pull_run(connection=with_cdrs, module="cdrs", full=True)
    assert again.completed
    assert Cdr.objects.count() == 8  # nothing twice


def test_a_broken_pull_is_incomplete_and_deletes_nothing(with_cdrs, foreign_partner):  # noqa: F811
    foreign_partner.page_size = 2
    foreign_partner.lists["cdrs"] = [_jsonable(_foreign_cdr(i)) for i in range(6)]
    assert pull_run(connection=with_cdrs, module="cdrs").completed
    # The partner now lists fewer, and fails a page: nothing is retired or lost.
    foreign_partner.lists["cdrs"] = foreign_partner.lists["cdrs"][:4]
    foreign_partner.fail_page = 1
    result = pull_run(connection=with_cdrs, module="cdrs", full=True)
    assert not result.completed
    assert Cdr.objects.count() == 6


def test_a_pulled_cdr_that_differs_from_the_stored_one_is_rejected(with_cdrs, foreign_partner):  # noqa: F811
    first = _jsonable(_foreign_cdr(1))
    foreign_partner.lists["cdrs"] = [first]
    assert pull_run(connection=with_cdrs, module="cdrs").completed
    before = Cdr.objects.get().ocpi_json
    foreign_partner.lists["cdrs"] = [{**first, "total_cost": {"excl_vat": 99, "incl_vat": 99}}]
    result = pull_run(connection=with_cdrs, module="cdrs", full=True)
    assert result.rejected == 1
    assert Cdr.objects.get().ocpi_json == before
