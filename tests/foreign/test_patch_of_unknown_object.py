"""A PATCH the partner cannot apply because it does not hold the object is replaced, once, by a
PUT of the whole current object, instead of being retried until it expires (issue 11, item 4).
The partner is the standard-library one of tests/foreign_partner.py."""

from __future__ import annotations

import json

import pytest

from apps.audit.models import AuditEvent
from apps.locations.models import Location
from apps.locations.services import evse_status_set
from apps.partners.models import OutboxMessage
from apps.partners.outbox import outbox_deliver
from apps.tokens.services import token_block_own, token_issue_own
from tests.factories.locations import EVSEData, own_location

pytestmark = pytest.mark.django_db


@pytest.fixture
def our_location(our_parties, foreign):
    """One of our locations the partner was told about once, and has since lost."""
    cpo = next(p for p in our_parties if p.role == "CPO")
    location = own_location(cpo, id="IST-9", evses=[EVSEData(uid="E1"), EVSEData(uid="E2")])
    OutboxMessage.objects.update(status="delivered")
    return location


def sent(partner):
    return [(r.method, r.path) for r in partner.requests]


@pytest.mark.parametrize("unknown_http_status", [404, 200])
def test_a_patch_of_a_location_the_partner_lacks_is_followed_by_one_put_of_it_whole(
    foreign, foreign_partner, our_location, unknown_http_status
):
    foreign_partner.unknown_http_status = unknown_http_status
    evse_status_set(location=our_location, evse_uid="E1", status="CHARGING")

    assert outbox_deliver(connection_id=foreign.pk) == 1

    base = "/ocpi/emsp/2.2.1/locations/TR/ECH/IST-9"
    assert sent(foreign_partner) == [("PATCH", f"{base}/E1"), ("PUT", base)]
    current = json.loads(Location.objects.get(pk=our_location.pk).ocpi_json)
    assert foreign_partner.requests[1].body == current
    assert [e["status"] for e in current["evses"]] == ["CHARGING", "AVAILABLE"]
    patch = OutboxMessage.objects.get(method="PATCH")
    assert patch.status == OutboxMessage.Status.SUPERSEDED
    assert "sent by PUT" in patch.last_error
    event = AuditEvent.objects.get(verb="outbox.patch_replaced_by_put")
    assert event.object_key == "TR/ECH/IST-9"
    assert "does not hold the object" in event.message

    # Nothing more is sent: the PATCH is not retried, and the partner now holds the location.
    assert outbox_deliver(connection_id=foreign.pk) == 0
    assert len(foreign_partner.requests) == 2


def test_the_next_patch_of_that_location_is_a_patch_again(foreign, foreign_partner, our_location):
    evse_status_set(location=our_location, evse_uid="E1", status="CHARGING")
    outbox_deliver(connection_id=foreign.pk)
    evse_status_set(location=our_location, evse_uid="E2", status="CHARGING")

    assert outbox_deliver(connection_id=foreign.pk) == 1

    assert [m for m, _ in sent(foreign_partner)] == ["PATCH", "PUT", "PATCH"]
    assert AuditEvent.objects.filter(verb="outbox.patch_replaced_by_put").count() == 1


def test_a_patch_that_fails_for_another_reason_is_retried_not_replaced(
    foreign, foreign_partner, our_location
):
    foreign_partner.fail_receiver = True
    evse_status_set(location=our_location, evse_uid="E1", status="CHARGING")

    assert outbox_deliver(connection_id=foreign.pk) == 0

    assert sent(foreign_partner) == [("PATCH", "/ocpi/emsp/2.2.1/locations/TR/ECH/IST-9/E1")]
    patch = OutboxMessage.objects.get(method="PATCH")
    assert (patch.status, patch.last_http_status) == (OutboxMessage.Status.PENDING, 500)
    assert not AuditEvent.objects.filter(verb="outbox.patch_replaced_by_put").exists()


def test_a_patch_of_a_token_the_cpo_lacks_is_followed_by_one_put_of_it(
    foreign, foreign_partner, our_parties
):
    emsp = next(p for p in our_parties if p.role == "EMSP")
    token = token_issue_own(owner=emsp, uid="CARD-7", contract_id="TR-ECH-C7", issuer="echargo")
    OutboxMessage.objects.update(status="delivered")
    token_block_own(token=token)

    assert outbox_deliver(connection_id=foreign.pk) == 1

    path = "/ocpi/cpo/2.2.1/tokens/TR/ECH/CARD-7"
    assert sent(foreign_partner) == [("PATCH", path), ("PUT", path)]
    assert foreign_partner.requests[1].query == {"type": ["RFID"]}
    put = foreign_partner.requests[1].body
    assert (put["uid"], put["valid"]) == ("CARD-7", False)
