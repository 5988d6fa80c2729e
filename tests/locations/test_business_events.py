"""Changes staff make to our locations are business events in the audit trail, like tariffs' and
tokens': what changed, why, and how many partners were told. EVSE status changes from chargers
are not (they are in the EVSE's history)."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.locations.services import evse_patch_own, evse_status_set, location_patch_own
from tests.factories.locations import own_location

pytestmark = pytest.mark.django_db


def _events(location):
    return list(
        AuditEvent.objects.filter(verb="location.published", object_key=location.ocpi_path)
        .order_by("pk")
        .values_list("message", flat=True)
    )


def test_a_staff_change_to_a_location_and_its_evse_is_recorded_with_its_reason(cpo):
    location = own_location(cpo, id="LOC-AUDIT")
    location_patch_own(location=location, changes={"name": "Kadıköy Rıhtım"}, reason="Renamed")
    evse_uid = location.evses.first().uid
    evse_patch_own(
        location=location, evse_uid=evse_uid, changes={"floor_level": "-1"}, reason="Moved"
    )
    messages = _events(location)
    assert len(messages) == 3
    assert "stored whole" in messages[0]
    assert "changed name (Renamed)" in messages[1]
    assert f"EVSE {evse_uid} changed floor_level (Moved)" in messages[2]
    assert all("partner(s)" in message for message in messages)


def test_a_status_change_from_a_charger_is_left_to_the_evse_history(cpo):
    location = own_location(cpo, id="LOC-STATUS")
    before = _events(location)
    evse_status_set(location=location, evse_uid=location.evses.first().uid, status="CHARGING")
    assert _events(location) == before
    assert location.evses.first().history.first().status == "CHARGING"
