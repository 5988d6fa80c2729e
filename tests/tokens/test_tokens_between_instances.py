"""Tokens between two running echargo instances over real HTTP on loopback.

We are the peer's eMSP for our drivers and its CPO for its drivers: a block we make reaches the
peer's stations by push (through a real Celery worker on Redis), and the peer's driver is
authorized at our station in real time, and locally when the peer does not answer.
"""

from __future__ import annotations

import re
import time

import pytest

from apps.partners.clients import partner_client
from apps.partners.models import OutboxMessage, Party
from apps.tokens.models import Token
from apps.tokens.services import token_block_own, token_issue_own
from apps.tokens.station_authorization import token_authorize_at_station
from tests.peer import SilentServer

pytestmark = [pytest.mark.peer, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def peer_decides(peer, uid: str) -> dict[str, str]:
    out = peer.manage("token_authorize", uid, "--location", "PEER-LOC-1")
    return dict(re.findall(r"(\w+)=(\S*)", out))


def test_block_in_our_admin_is_refused_at_the_peers_station(
    connected_peer, peer, celery_worker_process
):
    our_emsp = Party.objects.get(is_own=True, role="EMSP")
    token = token_issue_own(
        owner=our_emsp,
        uid="TRCARD0001",
        contract_id="TR-ECH-C0001",
        issuer="echargo",
        whitelist="ALWAYS",
    )
    # The worker delivers the PUT: the peer's charger now decides locally and lets the driver in.
    assert wait_for(lambda: OutboxMessage.objects.filter(status="delivered").count() == 1)
    assert peer_decides(peer, "TRCARD0001")["allowed"] == "ALLOWED"

    blocked_at = time.monotonic()
    token_block_own(token=token)
    assert wait_for(lambda: OutboxMessage.objects.filter(status="delivered").count() == 2)
    decision = peer_decides(peer, "TRCARD0001")
    assert decision == {
        "allowed": "BLOCKED",
        "source": "local",
        "reference": "-",
        "detail": "Whitelist",
    }
    assert time.monotonic() - blocked_at < 20

    # The eMSP may read back what the CPO holds (OCPI 2.2.1 tokens receiver GET).
    with partner_client(connected_peer) as client:
        url = connected_peer.endpoint_url("tokens", "RECEIVER") + "/TR/ECH/TRCARD0001"
        assert client.get(url, {"type": "RFID"}).data["valid"] is False


def test_peers_driver_is_authorized_in_real_time_and_locally_when_peer_is_silent(
    connected_peer, peer, settings
):
    peer.manage(
        "token_issue",
        "NLCARD0001",
        "--contract-id",
        "NL-PEE-C0001",
        "--issuer",
        "Peer Charging",
        "--whitelist",
        "ALLOWED",
    )
    # The peer pushed it to our CPO receiver (its tasks run inline): we hold the whitelist.
    assert wait_for(lambda: Token.objects.filter(uid="NLCARD0001").exists())
    assert Token.objects.get(uid="NLCARD0001").owner.party_id == "PEE"

    decision = token_authorize_at_station(uid="NLCARD0001", location_id="TR-IST-001")
    assert (decision.allowed, decision.source) == ("ALLOWED", "realtime")
    assert len(decision.authorization_reference) == 32

    # The peer falls silent: its tokens Sender now accepts connections and never answers.
    settings.TOKENS_REALTIME_TIMEOUT = 1.0
    endpoints = connected_peer.endpoints
    with SilentServer() as silent:
        connected_peer.endpoints = [
            {**e, "url": f"{silent.url}/ocpi/2.2.1/tokens"} if e["identifier"] == "tokens" else e
            for e in endpoints
        ]
        connected_peer.save(update_fields=["endpoints"])
        started = time.monotonic()
        decision = token_authorize_at_station(uid="NLCARD0001", location_id="TR-IST-001")
        waited = time.monotonic() - started
    connected_peer.endpoints = endpoints
    connected_peer.save(update_fields=["endpoints"])
    assert (decision.allowed, decision.source) == ("ALLOWED", "fallback")
    assert decision.detail.startswith("No answer from NL*PEE (EMSP)")
    assert 1.0 <= waited < 3


def test_pull_fetches_the_peers_tokens_then_only_what_changed(connected_peer, peer):
    from django.core.management import call_command

    from apps.partners.models import SyncState

    peer.manage(
        "token_issue", "NLPULL0001", "--contract-id", "NL-PEE-C0101", "--issuer", "Peer Charging"
    )
    peer.manage(
        "token_issue",
        "NLPULL0002",
        "--contract-id",
        "NL-PEE-C0102",
        "--issuer",
        "Peer Charging",
        "--whitelist",
        "NEVER",
    )
    Token.objects.filter(uid__startswith="NLPULL").delete()  # forget what the push brought

    call_command("ocpi_pull", str(connected_peer.pk), "--module", "tokens")
    assert set(Token.objects.filter(owner__party_id="PEE").values_list("uid", "whitelist")) >= {
        ("NLPULL0001", "ALLOWED"),
        ("NLPULL0002", "NEVER"),
    }
    state = SyncState.objects.get(connection=connected_peer, module="tokens")
    assert state.last_counts["rejected"] == 0
    assert state.last_success_started_at is not None

    # The next run asks only for what changed since the last successful one.
    call_command("ocpi_pull", str(connected_peer.pk), "--module", "tokens")
    state.refresh_from_db()
    assert state.last_counts["received"] == 0
