"""Our version details announce the Locations Sender (CPO) and Receiver (eMSP) interfaces."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_version_details_announce_locations_sender_and_receiver(api, bosphorus, settings):
    settings.OCPI_BASE_URL = "https://ocpi.echargo.example"
    endpoints = api.as_token("bosphorus-token").get("/ocpi/2.2.1").json()["data"]["endpoints"]
    locations = {e["role"]: e["url"] for e in endpoints if e["identifier"] == "locations"}
    assert locations == {
        "SENDER": "https://ocpi.echargo.example/ocpi/cpo/2.2.1/locations",
        "RECEIVER": "https://ocpi.echargo.example/ocpi/emsp/2.2.1/locations",
    }
