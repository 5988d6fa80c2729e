"""Two echargo instances exchange Locations over real HTTP on loopback: our pushes land in the
peer's eMSP Receiver, and we pull the peer's published locations from its CPO Sender."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator

import pytest

from apps.locations.models import Location
from apps.locations.services import evse_status_set
from apps.partners.clients import partner_client
from apps.partners.models import PartnerConnection
from apps.partners.outbox import outbox_deliver
from apps.partners.pull import pull_run
from apps.partners.services import (
    connection_register_with_partner,
    connection_unregister_with_partner,
)
from tests.factories.locations import EVSEData, own_location

pytestmark = [pytest.mark.peer, pytest.mark.django_db(transaction=True)]


@contextlib.contextmanager
def connected_to(peer) -> Iterator[PartnerConnection]:
    """We register with the peer (credentials handshake) and unregister afterwards, so the
    session-wide peer can be connected again by the next test."""
    versions_url, token_a = peer.invite("echargo TR")
    connection = connection_register_with_partner(
        versions_url=versions_url, token_a=token_a, name="Peer Charging"
    )
    try:
        yield connection
    finally:
        connection_unregister_with_partner(connection=connection)


def test_our_location_and_its_status_changes_reach_the_peer(peer, ocpi_live, cpo):
    location_id, evse_uid = f"E2E-{uuid.uuid4().hex[:8]}", "E2E-EVSE-1"
    with connected_to(peer) as connection:
        receiver = connection.endpoint_url("locations", "RECEIVER")
        assert receiver == f"{peer.url}/ocpi/emsp/2.2.1/locations"

        location = own_location(cpo, id=location_id, evses=[EVSEData(uid=evse_uid)])
        outbox_deliver(connection_id=connection.pk)
        with partner_client(connection) as client:
            url = f"{receiver}/TR/ECH/{location_id}"
            assert json.loads(json.dumps(client.get(url).data)) == json.loads(location.ocpi_json)

            evse_status_set(location=location, evse_uid=evse_uid, status="CHARGING")
            outbox_deliver(connection_id=connection.pk)
            evse = client.get(f"{url}/{evse_uid}").data
            assert evse["status"] == "CHARGING"
            assert client.get(url).data["last_updated"] == evse["last_updated"]
        assert (
            not connection.outbox.exclude(status="delivered").exclude(status="superseded").exists()
        )


PEER_LOCATION = """
from apps.locations.services import location_upsert_own
from apps.partners.models import Party
owner = Party.objects.get(is_own=True, role="CPO")
location_upsert_own(owner=owner, data={data})
"""


def test_we_pull_the_peers_published_location_and_store_it_as_its_own(peer, ocpi_live, cpo):
    location_id = f"PEER-{uuid.uuid4().hex[:8]}"
    data = {
        "id": location_id,
        "publish": True,
        "name": "Peer Plaza",
        "address": "Damrak 1",
        "city": "Amsterdam",
        "country": "NLD",
        "coordinates": {"latitude": 52.377, "longitude": "4.8986"},
        "time_zone": "Europe/Amsterdam",
        "evses": [EVSEData(uid="PEER-EVSE-1")],
    }
    # Created before we connect, so only a pull can bring it to us.
    peer.manage("shell", "-c", PEER_LOCATION.format(data=repr(data)))
    with connected_to(peer) as connection:
        assert not Location.objects.filter(location_key=location_id.upper()).exists()
        result = pull_run(connection=connection, module="locations", full=True)
        assert result.completed, result.errors
        assert result.rejected == 0
        location = Location.objects.get(location_key=location_id.upper())
        assert (location.owner.country_code, location.owner.party_id) == ("NL", "PEE")
        assert location.owner.role == "CPO"
        assert location.owner.connection == connection
        document = json.loads(location.ocpi_json)
        assert document["coordinates"] == {"latitude": "52.37700", "longitude": "4.89860"}
        assert document["evses"][0]["uid"] == "PEER-EVSE-1"
