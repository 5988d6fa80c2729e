"""A partner that connects receives our whole current set of each module it takes, through the
outbox and in batches, by each module's own visibility rules; staff can send one module again
and see its progress on the connection page (issue 11, item 3)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from apps.audit.models import AuditEvent
from apps.partners.initial_sync import (
    initial_sync_progress,
    initial_sync_start_all,
    initial_sync_step,
)
from apps.partners.models import InitialSync, OutboxMessage, PartnerConnection
from apps.partners.outbox import outbox_deliver
from apps.partners.services import connection_set_suspended
from apps.tariffs.services import tariff_upsert_own
from apps.tokens.services import token_issue_own
from tests.factories.locations import LocationData, own_location
from tests.factories.partners import PartnerConnectionFactory, PartyFactory

pytestmark = pytest.mark.django_db


def tariff(tariff_id: str) -> dict:
    return {
        "id": tariff_id,
        "currency": "TRY",
        "elements": [
            {"price_components": [{"type": "ENERGY", "price": "8.50", "vat": "20", "step_size": 1}]}
        ],
    }


@pytest.fixture
def our_network(our_parties):
    """Five published locations, one only for another eMSP, two tariffs, three drivers' tokens;
    created before the partner connected, so no push carried them to it."""
    cpo = next(p for p in our_parties if p.role == "CPO")
    emsp = next(p for p in our_parties if p.role == "EMSP")
    for n in range(5):
        own_location(cpo, id=f"IST-{n}")
    own_location(
        cpo,
        id="PRIVATE",
        publish=False,
        publish_allowed_to=[{"visual_number": "CARD", "issuer": "Other Mobility"}],
    )
    for tariff_id in ("AC-1", "DC-1"):
        tariff_upsert_own(data=tariff(tariff_id), reason="seeded by the test")
    for n in range(3):
        token_issue_own(owner=emsp, uid=f"CARD-{n}", contract_id=f"TR-ECH-C{n}", issuer="echargo")
    OutboxMessage.objects.all().delete()
    return cpo


def run_syncs() -> None:
    """What the Celery task does, batch after batch (its next batch waits for commit)."""
    for sync in InitialSync.objects.filter(status=InitialSync.Status.QUEUEING):
        while initial_sync_step(sync_id=sync.pk):
            pass


def test_a_new_partner_receives_everything_it_may_see_in_batches(
    foreign, foreign_partner, our_network, settings
):
    settings.OCPI_INITIAL_SYNC_BATCH = 2

    syncs = initial_sync_start_all(connection=foreign, reason="the test connected it")
    run_syncs()
    while outbox_deliver(connection_id=foreign.pk):
        pass

    assert sorted(s.module for s in syncs) == ["locations", "tariffs", "tokens"]
    held = foreign_partner.held
    assert sorted(held["locations"]) == [f"TR/ECH/IST-{n}" for n in range(5)]
    assert sorted(held["tariffs"]) == ["TR/ECH/AC-1", "TR/ECH/DC-1"]
    assert sorted(held["tokens"]) == ["TR/ECH/CARD-0", "TR/ECH/CARD-1", "TR/ECH/CARD-2"]
    assert {r.method for r in foreign_partner.requests} == {"PUT"}
    for sync in InitialSync.objects.all():
        assert sync.status == InitialSync.Status.QUEUED
        assert initial_sync_progress(sync)["delivered"] == sync.queued
    assert InitialSync.objects.get(module="locations").queued == 5
    assert AuditEvent.objects.filter(verb="initial_sync.queued").count() == 3


def test_a_partner_sees_an_unpublished_location_its_parties_are_allowed(
    foreign, foreign_partner, our_network
):
    from apps.locations.services import location_upsert_own

    location_upsert_own(
        owner=our_network,
        data=LocationData(
            id="FOR-ONLY",
            publish=False,
            publish_allowed_to=[{"visual_number": "CARD", "issuer": "DE*FOR"}],
        ),
    )
    OutboxMessage.objects.all().delete()

    initial_sync_start_all(connection=foreign, reason="the test connected it")
    run_syncs()
    outbox_deliver(connection_id=foreign.pk)

    assert "TR/ECH/FOR-ONLY" in foreign_partner.held["locations"]
    assert "TR/ECH/PRIVATE" not in foreign_partner.held["locations"]


def test_the_sync_waits_for_the_partner_when_it_registered_with_us(
    foreign, foreign_partner, our_network
):
    initial_sync_start_all(connection=foreign, reason="the partner registered", delay_seconds=60)
    run_syncs()

    assert outbox_deliver(connection_id=foreign.pk) == 0
    assert foreign_partner.requests == []
    assert OutboxMessage.objects.filter(status="pending").count() == 10


def test_only_modules_the_partner_receives_are_sent(our_network, foreign_partner):
    cpo_only = PartnerConnectionFactory(
        name="CPO only", endpoints=foreign_partner.endpoints("locations", "tokens", role="RECEIVER")
    )
    PartyFactory(country_code="DE", party_id="CPX", role="CPO", connection=cpo_only)

    syncs = initial_sync_start_all(connection=cpo_only, reason="test")

    # A CPO takes our tokens, not our locations (it announces a Receiver it has no eMSP for).
    assert [s.module for s in syncs] == ["tokens"]


def test_resuming_a_suspended_partner_sends_everything_again(foreign, our_network):
    connection_set_suspended(connection=foreign, suspended=True)
    assert not InitialSync.objects.exists()

    connection_set_suspended(connection=foreign, suspended=False)

    assert sorted(InitialSync.objects.values_list("module", flat=True)) == [
        "locations",
        "tariffs",
        "tokens",
    ]


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("alice", "alice@echargo.example", "pw")
    client.force_login(user)
    return client


def test_staff_send_one_module_again_and_see_its_progress(
    staff, foreign, foreign_partner, our_network
):
    response = staff.post(
        "/admin/partners/partnerconnection/",
        {"action": "send_everything_again", "module": "tariffs", "_selected_action": [foreign.pk]},
        follow=True,
    )

    assert "all our tariffs are being queued" in response.content.decode()
    sync = InitialSync.objects.get()
    assert (sync.module, sync.reason) == ("tariffs", "sent again by alice")
    run_syncs()
    outbox_deliver(connection_id=foreign.pk)
    page = staff.get(f"/admin/partners/partnerconnection/{foreign.pk}/change/").content.decode()
    assert "sent again by alice" in page
    # Queued 2, delivered 2, waiting 0, superseded 0, dead 0.
    assert "<td>2</td><td>2</td><td>0</td><td>0</td><td>0</td>" in page


def test_staff_must_choose_the_module(staff, foreign):
    response = staff.post(
        "/admin/partners/partnerconnection/",
        {"action": "send_everything_again", "module": "", "_selected_action": [foreign.pk]},
        follow=True,
    )

    assert "Choose the module to send again." in response.content.decode()
    assert not InitialSync.objects.exists()


def test_sending_to_a_partner_that_takes_no_such_module_says_so(staff, bosphorus):
    staff.post(
        "/admin/partners/partnerconnection/",
        {"action": "send_everything_again", "module": "tokens", "_selected_action": [bosphorus.pk]},
        follow=True,
    )

    assert not InitialSync.objects.exists()
    assert PartnerConnection.objects.get(pk=bosphorus.pk).status == "connected"
