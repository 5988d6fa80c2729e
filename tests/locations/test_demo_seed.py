"""seed_demo creates our demo stations in Istanbul and Ankara once, through the services."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from apps.locations.demo import DEMO_STATIONS
from apps.locations.models import Location
from apps.locations.services import location_patch_own

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_published_stations_once_and_keeps_staff_edits():
    call_command("seed_demo", stdout=io.StringIO())
    locations = Location.objects.all()
    assert len(locations) == len(DEMO_STATIONS)
    assert {json.loads(loc.ocpi_json)["city"] for loc in locations} == {"İstanbul", "Ankara"}
    assert all(loc.owner.party_id == "ECH" and loc.publish for loc in locations)

    taksim = Location.objects.get(location_key="IST-TAKSIM")
    location_patch_own(location=taksim, changes={"name": "Taksim (renamed)"})
    call_command("seed_demo", stdout=io.StringIO())
    assert Location.objects.count() == len(DEMO_STATIONS)
    assert Location.objects.get(location_key="IST-TAKSIM").name == "Taksim (renamed)"
