"""Two echargo instances exchange tariffs over real HTTP: we push ours to the peer's eMSP
Receiver through the outbox, and pull the peer's from its CPO Sender (OCPI 2.2.1 mod_tariffs)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from apps.partners.clients import partner_client
from apps.partners.models import OutboxMessage
from apps.partners.outbox import outbox_deliver
from apps.partners.pull import pull_run
from apps.partners.services import (
    connection_register_with_partner,
    connection_unregister_with_partner,
)
from apps.tariffs.models import Tariff
from apps.tariffs.services import tariff_delete_own, tariff_upsert_own
from echargo.ocpi.client import OcpiClientError
from echargo.ocpi.wire import ocpi_loads

pytestmark = [pytest.mark.peer, pytest.mark.django_db(transaction=True)]


def http_status_of(connection, url: str) -> int:
    """GET through our OCPI client; the HTTP status, failures included.

    The error is not kept: while an OcpiClientError lives, its traceback keeps the client's
    socket open, and the peer's web server would wait for it when the session ends.
    """
    try:
        with partner_client(connection) as client:
            return client.get(url, module="tariffs").http_status
    except OcpiClientError as exc:
        return exc.http_status


def seed_on_peer(peer, tariff_id: str) -> None:
    """The peer's operator creates a tariff of its own CPO (NL*PEE) with the same service."""
    peer.manage(
        "shell",
        "-c",
        "from apps.tariffs.services import tariff_upsert_own\n"
        "tariff_upsert_own(data={"
        f"'id': '{tariff_id}', 'currency': 'EUR', 'type': 'REGULAR', 'elements': ["
        "{'price_components': [{'type': 'FLAT', 'price': '0.50', 'vat': '21', 'step_size': 1}]},"
        "{'price_components': [{'type': 'ENERGY', 'price': '0.3945', 'vat': '21', "
        "'step_size': 1}], 'restrictions': {'start_time': '07:00', 'end_time': '23:00', "
        "'day_of_week': ['MONDAY', 'FRIDAY']}}]}, reason='seeded by the test')",
    )


@pytest.fixture
def peer_tariff_id(peer):
    """A tariff the peer's operator created before we connected: the peer had nobody to push
    it to, so only our pull can bring it here."""
    tariff_id = f"PEER-{uuid.uuid4().hex[:8]}"
    seed_on_peer(peer, tariff_id)
    return tariff_id


@pytest.fixture
def connection(peer_tariff_id, peer, ocpi_live):
    """We registered with the peer after it created its tariff; unregistered afterwards so the
    session's peer takes the next registration of TR*ECH."""
    versions_url, token_a = peer.invite("echargo TR")
    connection = connection_register_with_partner(
        versions_url=versions_url, token_a=token_a, name="Peer Charging"
    )
    yield connection
    connection.refresh_from_db()
    if connection.status == "connected":
        connection_unregister_with_partner(connection=connection, force=True)


def test_tariffs_travel_both_ways_between_two_instances(peer, connection, peer_tariff_id):
    receiver = connection.endpoint_url("tariffs", "RECEIVER")
    assert receiver == f"{peer.url}/ocpi/emsp/2.2.1/tariffs"
    assert connection.endpoint_url("tariffs", "SENDER") == f"{peer.url}/ocpi/cpo/2.2.1/tariffs"

    # Push: our tariff reaches the peer's eMSP Receiver through the outbox.
    ours = tariff_upsert_own(
        data={
            "id": "ISTANBUL-AC",
            "currency": "TRY",
            "min_price": {"excl_vat": "10.00", "incl_vat": "12.00"},
            "elements": [
                {
                    "price_components": [
                        {"type": "ENERGY", "price": "8.4567", "vat": "20", "step_size": 1},
                        {"type": "PARKING_TIME", "price": "30", "step_size": 60},
                    ]
                }
            ],
        },
        reason="end-to-end test",
    ).obj
    outbox_deliver(connection_id=connection.pk)
    message = OutboxMessage.objects.get(connection=connection, module="tariffs")
    assert (message.status, message.method, message.path) == (
        "delivered",
        "PUT",
        "TR/ECH/ISTANBUL-AC",
    )
    with partner_client(connection) as client:
        served = client.get(f"{receiver}/TR/ECH/ISTANBUL-AC", module="tariffs").data
    assert served == ocpi_loads(ours.ocpi_json)
    assert served["elements"][0]["price_components"][0]["price"] == Decimal("8.4567")
    assert "vat" not in served["elements"][0]["price_components"][1]

    # Pull: the peer's own tariff is stored here, owned by its CPO party.
    assert not Tariff.objects.filter(owner__party_id="PEE").exists()
    result = pull_run(connection=connection, module="tariffs", full=True)
    assert result.completed, result.errors
    assert result.rejected == 0
    theirs = Tariff.objects.get(tariff_id=peer_tariff_id)
    assert (theirs.owner.country_code, theirs.owner.party_id, theirs.owner.role) == (
        "NL",
        "PEE",
        "CPO",
    )
    assert theirs.owner.connection == connection
    document = ocpi_loads(theirs.ocpi_json)
    assert (document["country_code"], document["party_id"], document["type"]) == (
        "NL",
        "PEE",
        "REGULAR",
    )
    energy = document["elements"][1]
    assert energy["price_components"] == [
        {"type": "ENERGY", "price": Decimal("0.3945"), "vat": Decimal(21), "step_size": 1}
    ]
    assert energy["restrictions"] == {
        "start_time": "07:00",
        "end_time": "23:00",
        "day_of_week": ["MONDAY", "FRIDAY"],
    }

    # Retiring our tariff removes it at the peer too.
    tariff_delete_own(tariff=ours)
    outbox_deliver(connection_id=connection.pk)
    assert http_status_of(connection, f"{receiver}/TR/ECH/ISTANBUL-AC") == 404
