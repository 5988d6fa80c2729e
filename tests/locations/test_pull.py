"""Pulling a partner CPO's locations stores valid ones like a receiver PUT and skips the rest."""

from __future__ import annotations

import json

import pytest
import responses

from apps.locations.models import Location
from apps.partners import token_vault
from apps.partners.pull import pull_run
from tests.factories.locations import EVSEData, LocationData

pytestmark = pytest.mark.django_db

SENDER = "https://hub.example/ocpi/cpo/2.2.1/locations"


@pytest.fixture
def hub_sends(hub):
    hub.endpoints = [{"identifier": "locations", "role": "SENDER", "url": SENDER}]
    hub.outgoing_token_encrypted = token_vault.encrypt("token-for-hub")
    hub.save()
    return hub


def page(data, link=None):
    headers = {"X-Total-Count": str(len(data))}
    if link:
        headers["Link"] = f'<{link}>; rel="next"'
    body = {"data": data, "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}
    return {"body": json.dumps(body), "headers": headers, "content_type": "application/json"}


@responses.activate
def test_pull_stores_valid_locations_of_the_connections_parties_and_skips_others(hub_sends):
    good = LocationData(country_code="DE", party_id="HBA", id="GOOD", evses=[EVSEData(uid="G1")])
    second = LocationData(country_code="de", party_id="hbb", id="SECOND")
    invalid = {**LocationData(country_code="DE", party_id="HBA", id="BAD"), "address": None}
    foreign = LocationData(country_code="NL", party_id="XYZ", id="FOREIGN")
    responses.get(SENDER, **page([good, invalid], link=f"{SENDER}?offset=2&limit=2"))
    responses.get(f"{SENDER}?offset=2&limit=2", **page([foreign, second]))

    result = pull_run(connection=hub_sends, module="locations", full=True)

    assert result.completed
    assert (result.received, result.stored, result.rejected) == (4, 2, 2)
    stored = {loc.location_id: loc for loc in Location.objects.all()}
    assert set(stored) == {"GOOD", "SECOND"}
    assert stored["GOOD"].owner.party_id == "HBA"
    assert stored["SECOND"].owner.party_id == "HBB"
    assert json.loads(stored["GOOD"].ocpi_json) == good


@responses.activate
def test_a_pull_with_older_data_than_a_push_keeps_the_newer_state(hub_sends, api):
    newer = LocationData(
        country_code="DE",
        party_id="HBA",
        id="RACE",
        name="New",
        last_updated="2026-02-01T00:00:00Z",
    )
    api.as_token("hub-token").put("/ocpi/emsp/2.2.1/locations/DE/HBA/RACE", newer, format="json")
    older = {**newer, "name": "Old", "last_updated": "2026-01-01T00:00:00Z"}
    responses.get(SENDER, **page([older]))
    result = pull_run(connection=hub_sends, module="locations", full=True)
    assert result.stored == 1
    assert Location.objects.get().name == "New"
