"""Pulling from a partner that is not echargo: lower-case headers, pages of 10 whatever limit we
ask, and pages that break. Only a walk to a page without a next link, with no failed page and
as many objects as X-Total-Count, retires anything (issue 11, items 1, 2 and 5)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from apps.audit.models import AuditEvent
from apps.locations.models import Location
from apps.partners.models import SyncState
from apps.partners.pull import pull_run
from tests.factories.locations import EVSEData, LocationData

pytestmark = pytest.mark.django_db


def network(count: int) -> list[dict]:
    return [
        LocationData(
            country_code="DE",
            party_id="FOR",
            id=f"FOR-{n:03d}",
            evses=[EVSEData(uid=f"FOR-{n:03d}-1", evse_id=f"DE*FOR*E{n:03d}")],
        )
        for n in range(count)
    ]


def live_ids() -> set[str]:
    """Locations of the partner still published with an EVSE not REMOVED."""
    return {
        location.location_id
        for location in Location.objects.filter(owner__party_id="FOR").prefetch_related("evses")
        if location.publish and any(e.status != "REMOVED" for e in location.evses.all())
    }


@pytest.fixture
def holding_25(foreign, foreign_partner):
    foreign_partner.lists["locations"] = network(25)
    assert pull_run(connection=foreign, module="locations", full=True).completed
    assert len(live_ids()) == 25
    foreign_partner.requests.clear()
    return foreign


def test_pull_follows_lower_case_link_headers_to_all_25_locations(foreign, foreign_partner):
    foreign_partner.lists["locations"] = network(25)

    result = pull_run(connection=foreign, module="locations")

    assert result.completed, result.errors
    assert (result.pages, result.received, result.stored) == (3, 25, 25)
    assert len(live_ids()) == 25
    gets = foreign_partner.received("GET")
    assert [g.query.get("offset", ["0"]) for g in gets] == [["0"], ["10"], ["20"]]
    assert gets[0].query["limit"] == ["100"]


def test_pull_gets_carry_the_four_routing_headers(foreign, foreign_partner):
    foreign_partner.lists["locations"] = network(25)

    pull_run(connection=foreign, module="locations")

    for get in foreign_partner.received("GET"):
        # Locations are pulled by our eMSP from the partner's CPO.
        assert get.headers["ocpi-from-country-code"] == "TR"
        assert get.headers["ocpi-from-party-id"] == "ECH"
        assert get.headers["ocpi-to-country-code"] == "DE"
        assert get.headers["ocpi-to-party-id"] == "FOR"


def test_a_full_pull_whose_first_page_lost_its_link_retires_nothing(holding_25, foreign_partner):
    foreign_partner.drop_link_on_page = 0

    with pytest.raises(CommandError):
        call_command("ocpi_pull", str(holding_25.pk), "--module", "locations", "--full")

    assert len(live_ids()) == 25
    state = SyncState.objects.get(connection=holding_25, module="locations")
    assert "received 10 of the 25" in state.last_error
    assert state.last_counts["retired"] == 0
    event = AuditEvent.objects.filter(verb="pull.incomplete").latest("pk")
    assert "received 10 of the 25" in event.message
    assert "Nothing retired" in event.message


@pytest.mark.parametrize("fail_mode", ["http-500", "not-envelope"])
def test_a_full_pull_whose_second_page_fails_retires_nothing(
    holding_25, foreign_partner, fail_mode
):
    foreign_partner.fail_page, foreign_partner.fail_mode = 1, fail_mode

    with pytest.raises(CommandError):
        call_command("ocpi_pull", str(holding_25.pk), "--module", "locations", "--full")

    assert len(live_ids()) == 25
    state = SyncState.objects.get(connection=holding_25, module="locations")
    assert state.last_error.startswith("Pull incomplete: page 2 failed")
    assert AuditEvent.objects.filter(verb="pull.incomplete").exists()


def test_an_incomplete_pull_keeps_date_from(holding_25, foreign_partner):
    before = SyncState.objects.get(connection=holding_25, module="locations")
    foreign_partner.drop_link_on_page = 0

    assert not pull_run(connection=holding_25, module="locations").completed

    after = SyncState.objects.get(connection=holding_25, module="locations")
    assert after.last_success_started_at == before.last_success_started_at


def test_a_complete_full_pull_over_20_retires_the_5_no_longer_listed(holding_25, foreign_partner):
    foreign_partner.lists["locations"] = network(20)

    call_command("ocpi_pull", str(holding_25.pk), "--module", "locations", "--full")

    assert live_ids() == {f"FOR-{n:03d}" for n in range(20)}
    state = SyncState.objects.get(connection=holding_25, module="locations")
    assert state.last_counts["retired"] == 5
    assert state.last_error == ""
