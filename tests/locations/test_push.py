"""Changes to our own locations are pushed through the outbox, in the same transaction: a PUT of
the whole location for new objects and bigger changes, a PATCH for small ones, only to the
connected eMSPs that may see the location."""

from __future__ import annotations

import json

import pytest
import responses

from apps.locations.models import Location
from apps.locations.services import (
    connector_patch_own,
    evse_status_set,
    evse_upsert_own,
    location_patch_own,
    location_upsert_own,
)
from apps.partners.models import OutboxMessage, PartnerConnection
from apps.partners.outbox import outbox_deliver
from tests.factories.locations import EVSEData, LocationData, own_location
from tests.locations.conftest import BOSPHORUS_LOCATIONS

pytestmark = pytest.mark.django_db


def pending(connection=None):
    rows = OutboxMessage.objects.filter(status="pending", module="locations").order_by("pk")
    if connection is not None:
        rows = rows.filter(connection=connection)
    return [(m.method, m.path, json.loads(m.body)) for m in rows]


def test_new_published_location_is_put_to_every_receiving_emsp(
    cpo, bosphorus_receives, anatolia_receives, hub
):
    location = own_location(cpo, id="IST-1")
    document = json.loads(location.ocpi_json)
    for partner in (bosphorus_receives, anatolia_receives):
        assert pending(partner) == [("PUT", "TR/ECH/IST-1", document)]
        message = OutboxMessage.objects.get(connection=partner)
        assert message.object_key == "TR/ECH/IST-1"
    assert not OutboxMessage.objects.filter(connection=hub).exists(), "a CPO-only hub"


def test_partners_without_receiver_endpoint_or_not_connected_get_nothing(
    cpo, bosphorus, anatolia_receives
):
    anatolia_receives.status = PartnerConnection.Status.SUSPENDED
    anatolia_receives.save()
    own_location(cpo)
    assert not OutboxMessage.objects.exists()


def test_saving_the_same_data_again_pushes_nothing(cpo, bosphorus_receives):
    data = LocationData(id="SAME")
    location_upsert_own(owner=cpo, data=data)
    location_upsert_own(owner=cpo, data=data)
    assert len(pending()) == 1


def test_evse_status_change_is_a_patch_of_status_and_last_updated(cpo, bosphorus_receives):
    location = own_location(cpo, id="IST-2", evses=[EVSEData(uid="E1")])
    OutboxMessage.objects.update(status="delivered")
    evse = evse_status_set(location=location, evse_uid="e1", status="CHARGING")
    assert evse.status == "CHARGING"
    stamp = json.loads(Location.objects.get().ocpi_json)["evses"][0]["last_updated"]
    assert pending() == [
        ("PATCH", "TR/ECH/IST-2/E1", {"status": "CHARGING", "last_updated": stamp})
    ]
    assert json.loads(Location.objects.get().ocpi_json)["last_updated"] == stamp


def test_undelivered_status_patches_of_one_evse_merge_into_the_latest(cpo, bosphorus_receives):
    location = own_location(cpo, id="IST-3", evses=[EVSEData(uid="E1")])
    OutboxMessage.objects.update(status="delivered")
    evse_status_set(location=location, evse_uid="E1", status="CHARGING")
    evse_status_set(location=location, evse_uid="E1", status="AVAILABLE")
    [(method, path, body)] = pending()
    assert (method, path, body["status"]) == ("PATCH", "TR/ECH/IST-3/E1", "AVAILABLE")


def test_patch_of_another_evse_while_one_is_pending_becomes_a_whole_location_put(
    cpo, bosphorus_receives
):
    location = own_location(cpo, id="IST-4", evses=[EVSEData(uid="E1"), EVSEData(uid="E2")])
    OutboxMessage.objects.update(status="delivered")
    evse_status_set(location=location, evse_uid="E1", status="CHARGING")
    evse_status_set(location=location, evse_uid="E2", status="BLOCKED")
    [(method, path, body)] = pending()
    assert (method, path) == ("PUT", "TR/ECH/IST-4")
    assert [e["status"] for e in body["evses"]] == ["CHARGING", "BLOCKED"]


def test_connector_and_location_changes_are_patches_at_their_urls(cpo, bosphorus_receives):
    location = own_location(cpo, id="IST-5", evses=[EVSEData(uid="E1")])
    OutboxMessage.objects.update(status="delivered")
    connector_patch_own(
        location=location, evse_uid="E1", connector_id="1", changes={"tariff_ids": ["NIGHT"]}
    )
    [(method, path, body)] = pending()
    assert (method, path, body["tariff_ids"]) == ("PATCH", "TR/ECH/IST-5/E1/1", ["NIGHT"])
    OutboxMessage.objects.update(status="delivered")
    location_patch_own(location=location, changes={"name": "Taksim"})
    [(method, path, body)] = pending()
    assert (method, path, set(body)) == ("PATCH", "TR/ECH/IST-5", {"name", "last_updated"})


def test_adding_an_evse_puts_the_whole_location(cpo, bosphorus_receives):
    location = own_location(cpo, id="IST-6", evses=[EVSEData(uid="E1")])
    OutboxMessage.objects.update(status="delivered")
    evse_upsert_own(location=location, data=EVSEData(uid="E2"))
    [(method, path, body)] = pending()
    assert (method, path) == ("PUT", "TR/ECH/IST-6")
    assert [e["uid"] for e in body["evses"]] == ["E1", "E2"]


def test_unpublished_location_is_pushed_only_to_partners_allowed_to_see_it(
    cpo, bosphorus_receives, anatolia_receives
):
    own_location(cpo, id="HIDDEN", publish=False)
    assert pending() == []
    own_location(
        cpo,
        id="SHARED",
        publish=False,
        publish_allowed_to=[{"visual_number": "A-1", "issuer": "Anatolia Drive"}],
    )
    assert [m.connection_id for m in OutboxMessage.objects.all()] == [anatolia_receives.pk]


def test_unpublishing_tells_the_partners_that_saw_it(cpo, bosphorus_receives):
    location = own_location(cpo, id="GOING")
    OutboxMessage.objects.update(status="delivered")
    location_patch_own(location=location, changes={"publish": False})
    [(method, path, body)] = pending(bosphorus_receives)
    assert (method, path, body["publish"]) == ("PUT", "TR/ECH/GOING", False)
    OutboxMessage.objects.update(status="delivered")
    evse_status_set(location=location, evse_uid=body["evses"][0]["uid"], status="CHARGING")
    assert pending() == [], "no more updates about a location it may not see"


def test_invalid_change_writes_neither_location_nor_outbox(cpo, bosphorus_receives):
    with pytest.raises(Exception, match="max_voltage"):
        own_location(cpo, evses=[EVSEData(connectors=[{"id": "1", "standard": "CHADEMO"}])])
    assert not Location.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_only_our_own_cpo_parties_can_publish(our_parties, bosphorus_receives, hub):
    from rest_framework.exceptions import ValidationError

    with pytest.raises(ValidationError):
        location_upsert_own(owner=hub.parties.first(), data=LocationData())
    emsp = next(p for p in our_parties if p.role == "EMSP")
    with pytest.raises(ValidationError):
        location_upsert_own(owner=emsp, data=LocationData())


@responses.activate
def test_outbox_delivers_the_push_to_the_partner_receiver(cpo, bosphorus_receives):
    responses.put(
        f"{BOSPHORUS_LOCATIONS}/TR/ECH/IST-7",
        json={"status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"},
        status=201,
    )
    location = own_location(cpo, id="IST-7")
    assert outbox_deliver(connection_id=bosphorus_receives.pk) == 1
    assert json.loads(responses.calls[0].request.body) == json.loads(location.ocpi_json)
