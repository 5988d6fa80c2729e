"""Pulling a partner CPO's locations stores valid ones like a receiver PUT and skips the rest;
a complete full pull retires (never deletes) the locations the partner no longer lists."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import responses
from django.core.management import call_command
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.locations.models import Location
from apps.partners import token_vault
from apps.partners.models import SyncState
from apps.partners.pull import pull_run
from echargo.ocpi.fields import format_ocpi_datetime
from tests.factories.locations import EVSEData, LocationData

pytestmark = pytest.mark.django_db

SENDER = "https://hub.example/ocpi/cpo/2.2.1/locations"


@pytest.fixture
def hub_sends(hub):
    hub.endpoints = [{"identifier": "locations", "role": "SENDER", "url": SENDER}]
    hub.outgoing_token_encrypted = token_vault.encrypt("token-for-hub")
    hub.save()
    return hub


def page(data, link=None, total=None):
    # X-Total-Count is the size of the whole list, not of this page.
    headers = {"X-Total-Count": str(len(data) if total is None else total)}
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
    responses.get(SENDER, **page([good, invalid], link=f"{SENDER}?offset=2&limit=2", total=4))
    responses.get(f"{SENDER}?offset=2&limit=2", **page([foreign, second], total=4))

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


# --- A full pull is the partner's new truth ---------------------------------------------------


def kept_and_gone():
    """DE*HBA's KEEP (one EVSE) and GONE (two EVSEs), both published."""
    keep = LocationData(country_code="DE", party_id="HBA", id="KEEP", evses=[EVSEData(uid="K1")])
    gone = LocationData(
        country_code="DE",
        party_id="HBA",
        id="GONE",
        evses=[EVSEData(uid="G1"), EVSEData(uid="G2", last_updated="2026-01-05T00:00:00Z")],
    )
    return keep, gone


@pytest.fixture
def hub_holds_two(hub_sends):
    """A first full pull stored KEEP and GONE."""
    keep, gone = kept_and_gone()
    with responses.RequestsMock() as mock:
        mock.get(SENDER, **page([keep, gone]))
        assert pull_run(connection=hub_sends, module="locations", full=True).stored == 2
    return hub_sends


def live(location_id):
    location = Location.objects.get(location_id=location_id)
    return location.publish, sorted(e.status for e in location.evses.all())


@responses.activate
def test_full_pull_retires_a_location_the_partner_no_longer_lists(hub_holds_two):
    keep, _ = kept_and_gone()
    responses.get(SENDER, **page([keep]))

    result = pull_run(connection=hub_holds_two, module="locations", full=True)

    assert result.completed
    assert result.retired == 1
    assert live("KEEP") == (True, ["AVAILABLE"])
    assert live("GONE") == (False, ["REMOVED", "REMOVED"])
    gone = Location.objects.get(location_id="GONE")
    # Not deleted, and the partner's version stamps stay: a REMOVED EVSE takes the location's.
    assert gone.last_updated == dt.datetime(2026, 1, 10, 8, tzinfo=dt.UTC)
    assert {e.last_updated for e in gone.evses.all()} == {gone.last_updated}
    document = json.loads(gone.ocpi_json)
    assert document["publish"] is False
    assert [e["status"] for e in document["evses"]] == ["REMOVED", "REMOVED"]
    reasons = {h.history_change_reason for h in gone.history.all()[:1]}
    reasons |= {h.history_change_reason for e in gone.evses.all() for h in e.history.all()[:1]}
    assert reasons == {"Not listed in a full pull from Roaming Hub"}
    state = SyncState.objects.get(connection=hub_holds_two, module="locations")
    assert state.last_counts["retired"] == 1
    event = AuditEvent.objects.filter(verb="pull.completed").first()
    assert "1 retired" in event.message


@responses.activate
def test_a_retired_location_listed_again_comes_back(hub_holds_two):
    keep, gone = kept_and_gone()
    responses.get(SENDER, **page([keep]))
    pull_run(connection=hub_holds_two, module="locations", full=True)
    responses.replace(responses.GET, SENDER, **page([keep, gone]))

    result = pull_run(connection=hub_holds_two, module="locations", full=True)

    assert (result.stored, result.retired) == (2, 0)
    assert live("GONE") == (True, ["AVAILABLE", "AVAILABLE"])
    assert json.loads(Location.objects.get(location_id="GONE").ocpi_json) == gone


@responses.activate
def test_retiring_twice_changes_nothing_more(hub_holds_two):
    keep, _ = kept_and_gone()
    responses.get(SENDER, **page([keep]))
    pull_run(connection=hub_holds_two, module="locations", full=True)
    versions = Location.history.count()

    assert pull_run(connection=hub_holds_two, module="locations", full=True).retired == 0
    assert Location.history.count() == versions


@responses.activate
def test_incremental_pull_retires_nothing(hub_holds_two):
    keep, _ = kept_and_gone()
    responses.get(SENDER, **page([keep]))

    result = pull_run(connection=hub_holds_two, module="locations")

    assert "date_from=" in responses.calls[0].request.url
    assert result.completed
    assert result.retired == 0
    assert live("GONE") == (True, ["AVAILABLE", "AVAILABLE"])


@responses.activate
def test_full_pull_broken_on_a_later_page_retires_nothing(hub_holds_two):
    keep, _ = kept_and_gone()
    responses.get(SENDER, **page([keep], link=f"{SENDER}?offset=1&limit=1"))
    responses.get(f"{SENDER}?offset=1&limit=1", json={"oops": True}, status=502)

    result = pull_run(connection=hub_holds_two, module="locations", full=True)

    assert not result.completed
    assert result.retired == 0
    assert live("GONE") == (True, ["AVAILABLE", "AVAILABLE"])
    state = SyncState.objects.get(connection=hub_holds_two, module="locations")
    assert state.last_counts["retired"] == 0


@responses.activate
def test_an_empty_full_list_while_we_hold_locations_retires_nothing_and_says_so(hub_holds_two):
    responses.get(SENDER, **page([]))

    result = pull_run(connection=hub_holds_two, module="locations", full=True)

    assert result.completed
    assert result.retired == 0
    assert live("KEEP") == (True, ["AVAILABLE"])
    assert live("GONE") == (True, ["AVAILABLE", "AVAILABLE"])
    assert result.errors[0] == "Nothing retired: the partner listed no locations while we hold 2."
    state = SyncState.objects.get(connection=hub_holds_two, module="locations")
    assert "Nothing retired" in state.last_error
    event = AuditEvent.objects.filter(verb="pull.completed").first()
    assert "Nothing retired" in event.message


@responses.activate
def test_an_empty_full_list_when_we_hold_nothing_is_no_error(hub_sends):
    responses.get(SENDER, **page([]))

    result = pull_run(connection=hub_sends, module="locations", full=True)

    assert result.completed
    assert (result.retired, result.errors) == (0, [])


@responses.activate
def test_a_listed_location_rejected_as_invalid_is_not_retired(hub_holds_two):
    keep, gone = kept_and_gone()
    broken = {**gone, "id": "gone", "address": None, "last_updated": "2026-02-01T00:00:00Z"}
    responses.get(SENDER, **page([keep, broken]))

    result = pull_run(connection=hub_holds_two, module="locations", full=True)

    assert (result.stored, result.rejected, result.retired) == (1, 1, 0)
    assert live("GONE") == (True, ["AVAILABLE", "AVAILABLE"])


@responses.activate
def test_a_listed_object_without_identity_blocks_retiring(hub_holds_two):
    keep, _ = kept_and_gone()
    nameless = {k: v for k, v in keep.items() if k != "id"}
    responses.get(SENDER, **page([keep, nameless]))

    result = pull_run(connection=hub_holds_two, module="locations", full=True)

    assert result.completed
    assert result.retired == 0
    assert live("GONE") == (True, ["AVAILABLE", "AVAILABLE"])
    assert result.errors[0] == "Nothing retired: 1 listed object(s) had no readable identity."


@responses.activate
def test_fewer_objects_than_the_partner_counts_blocks_retiring(hub_holds_two):
    keep, _ = kept_and_gone()
    short = page([keep])
    short["headers"]["X-Total-Count"] = "2"
    responses.get(SENDER, **short)

    result = pull_run(connection=hub_holds_two, module="locations", full=True)

    assert result.retired == 0
    assert live("GONE") == (True, ["AVAILABLE", "AVAILABLE"])
    assert "received 1 of the 2" in result.errors[0]


@responses.activate
def test_a_location_changed_after_the_pull_started_is_not_retired(hub_holds_two, api):
    keep, gone = kept_and_gone()
    # A push that crossed the pull: its last_updated is later than the run's start (a minute
    # ahead, within the clock skew a receiver tolerates).
    ahead = timezone.now() + dt.timedelta(minutes=1)
    pushed = {**gone, "last_updated": format_ocpi_datetime(ahead)}
    api.as_token("hub-token").put("/ocpi/emsp/2.2.1/locations/DE/HBA/GONE", pushed, format="json")
    responses.get(SENDER, **page([keep]))

    result = pull_run(connection=hub_holds_two, module="locations", full=True)

    assert result.retired == 0
    assert live("GONE") == (True, ["AVAILABLE", "AVAILABLE"])


@responses.activate
def test_ocpi_pull_full_prints_how_many_were_retired(hub_holds_two):
    keep, _ = kept_and_gone()
    responses.get(SENDER, **page([keep]))
    out = io.StringIO()

    call_command("ocpi_pull", str(hub_holds_two.pk), "--module", "locations", "--full", stdout=out)

    assert "locations: 1 stored, 0 rejected, 1 retired, 1 pages" in out.getvalue()
