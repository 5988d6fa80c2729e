"""Two echargo instances connect, whichever side starts the handshake, and each new eMSP holds
every location and tariff of the other before anything changed (issue 11, item 3).

The peer runs as a second process on its own database (tests/peer.py), with its first
deliveries held back 1 s instead of 10 when a partner registered with it, and its Celery tasks
inline (no broker): the test runs its periodic outbox sweep by hand, as its beat would.
"""

from __future__ import annotations

import time
import uuid

import pytest

from apps.locations.models import Location
from apps.partners.initial_sync import initial_sync_step
from apps.partners.models import InitialSync, OutboxMessage, PartnerConnection
from apps.partners.outbox import UNDELIVERED, outbox_deliver
from apps.partners.services import (
    connection_invite,
    connection_register_with_partner,
    connection_unregister_with_partner,
)
from apps.tariffs.models import Tariff
from apps.tariffs.services import tariff_upsert_own
from tests.factories.locations import EVSEData, own_location
from tests.peer import PeerInstance

pytestmark = [pytest.mark.peer, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def sync_peer(tmp_path_factory):
    """A peer of its own (NL*SYN): the objects seeded here never reach other tests' peers."""
    instance = PeerInstance(tmp_path_factory.mktemp("sync-peer"), party_id="SYN")
    instance.env["OCPI_INITIAL_SYNC_DELAY_SECONDS"] = "1"
    instance.start()
    yield instance
    instance.stop()


def tariff(tariff_id: str, currency: str = "TRY") -> dict:
    component = {"type": "ENERGY", "price": "8.50", "vat": "20", "step_size": 1}
    return {"id": tariff_id, "currency": currency, "elements": [{"price_components": [component]}]}


def seed_ours(our_parties, tag: str) -> tuple[set[str], set[str]]:
    cpo = next(p for p in our_parties if p.role == "CPO")
    locations = {f"OUR-{tag}-{n}" for n in range(3)}
    for location_id in locations:
        own_location(cpo, id=location_id, evses=[EVSEData(uid=f"{location_id}-1")])
    tariffs = {f"OUR-{tag}-AC", f"OUR-{tag}-DC"}
    for tariff_id in tariffs:
        tariff_upsert_own(data=tariff(tariff_id), reason="seeded by the test")
    return locations, tariffs


def seed_peer(peer, tag: str) -> tuple[set[str], set[str]]:
    """The peer's operator creates two locations and a tariff of its CPO, with its services."""
    locations = [f"SYN-{tag}-{n}" for n in range(2)]
    peer.manage(
        "shell",
        "-c",
        "from apps.partners.models import Party\n"
        "from apps.tariffs.services import tariff_upsert_own\n"
        "from tests.factories.locations import EVSEData, own_location\n"
        "cpo = Party.objects.get(is_own=True, role='CPO')\n"
        f"for location_id in {locations!r}:\n"
        "    own_location(cpo, id=location_id, evses=[EVSEData(uid=location_id + '-1', "
        "evse_id='NL*SYN*E' + location_id[-5:].replace('-', ''))])\n"
        f"tariff_upsert_own(data={tariff(f'SYN-{tag}', 'EUR')!r}, reason='seeded')\n",
    )
    return set(locations), {f"SYN-{tag}"}


def held_by_peer(peer, party_id: str = "ECH") -> tuple[set[str], set[str]]:
    out = peer.manage(
        "shell",
        "-c",
        "from apps.locations.models import Location\n"
        "from apps.tariffs.models import Tariff\n"
        f"print(sorted(Location.objects.filter(owner__party_id='{party_id}')"
        ".values_list('location_id', flat=True)))\n"
        f"print(sorted(Tariff.objects.filter(owner__party_id='{party_id}')"
        ".values_list('tariff_id', flat=True)))\n",
    )
    locations, tariffs = out.strip().splitlines()[-2:]
    return set(eval(locations)), set(eval(tariffs))  # noqa: S307 (our own peer's print)


def held_here(party_id: str = "SYN") -> tuple[set[str], set[str]]:
    return (
        set(
            Location.objects.filter(owner__party_id=party_id).values_list("location_id", flat=True)
        ),
        set(Tariff.objects.filter(owner__party_id=party_id).values_list("tariff_id", flat=True)),
    )


def deliver_our_initial_syncs(connection: PartnerConnection, seconds: float = 30) -> None:
    """What our Celery worker and the periodic outbox sweep do once the handshake committed
    (without a broker the tasks already ran inline): queue every batch, then deliver until
    nothing is left, waiting for messages whose first try is held back."""
    for sync in InitialSync.objects.filter(
        connection=connection, status=InitialSync.Status.QUEUEING
    ):
        while initial_sync_step(sync_id=sync.pk):
            pass
    deadline = time.monotonic() + seconds
    waiting = OutboxMessage.objects.filter(connection=connection, status__in=UNDELIVERED)
    while waiting.exists() and time.monotonic() < deadline:
        outbox_deliver(connection_id=connection.pk)
        time.sleep(0.2)


def sweep_peer_until(peer, check, seconds: float = 30) -> None:
    """Run the peer's periodic outbox sweep until `check()` holds (its beat runs it each minute)."""
    deadline = time.monotonic() + seconds
    while True:
        peer.manage(
            "shell", "-c", "from apps.partners.tasks import outbox_sweep_task; outbox_sweep_task()"
        )
        if check() or time.monotonic() > deadline:
            return
        time.sleep(0.5)


def test_we_connect_and_each_new_emsp_holds_the_others_network_before_any_change(
    sync_peer, ocpi_live, our_parties
):
    tag = uuid.uuid4().hex[:6].upper()
    our_locations, our_tariffs = seed_ours(our_parties, tag)
    peer_locations, peer_tariffs = seed_peer(sync_peer, tag)
    versions_url, token_a = sync_peer.invite("echargo TR")

    connection = connection_register_with_partner(
        versions_url=versions_url, token_a=token_a, name="Sync Peer"
    )
    try:
        deliver_our_initial_syncs(connection)
        held_locations, held_tariffs = held_by_peer(sync_peer)
        assert our_locations <= held_locations
        assert our_tariffs <= held_tariffs

        # The peer holds its first deliveries back 1 s: we stored its parties meanwhile.
        sweep_peer_until(sync_peer, lambda: held_here() == (peer_locations, peer_tariffs))
        assert held_here() == (peer_locations, peer_tariffs)
    finally:
        connection_unregister_with_partner(connection=connection, force=True)


def test_the_peer_connects_to_us_and_each_new_emsp_holds_the_others_network(
    sync_peer, ocpi_live, our_parties, settings
):
    # Our first deliveries wait 1 s for the peer to store our credentials answer.
    settings.OCPI_INITIAL_SYNC_DELAY_SECONDS = 1
    tag = uuid.uuid4().hex[:6].upper()
    our_locations, our_tariffs = seed_ours(our_parties, tag)
    peer_locations, peer_tariffs = seed_peer(sync_peer, tag)
    connection, token_a = connection_invite(name="Sync Peer")

    # "--" ends the options: a token A may start with "-".
    sync_peer.manage(
        "ocpi_connect", "--name", "echargo TR", "--", f"{ocpi_live.url}/ocpi/versions", token_a
    )
    connection.refresh_from_db()
    try:
        assert connection.status == PartnerConnection.Status.CONNECTED
        # The peer registered with us: its Celery tasks ran inline once its handshake committed.
        # (The peer's whole network: what earlier tests seeded on it too.)
        held_locations, held_tariffs = held_here()
        assert peer_locations <= held_locations
        assert peer_tariffs <= held_tariffs

        deliver_our_initial_syncs(connection)
        held_locations, held_tariffs = held_by_peer(sync_peer)
        assert our_locations <= held_locations
        assert our_tariffs <= held_tariffs
    finally:
        connection.refresh_from_db()
        if connection.status == PartnerConnection.Status.CONNECTED:
            connection_unregister_with_partner(connection=connection, force=True)
