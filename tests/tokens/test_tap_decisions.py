"""A tap at our station is decided by the token's whitelist rule (OCPI 2.2.1 WhitelistType).

The eMSP is played by `responses` for fixed answers and failures, and by a real, slow HTTP server
for the timeout; the end-to-end runs against a second echargo are in test_tokens_between_instances.
"""

from __future__ import annotations

import http.server
import io
import threading
import time

import pytest
import requests
import responses
from django.core.management import call_command

from apps.partners import token_vault
from apps.tokens.models import AuthorizationDecision, Token
from apps.tokens.services import token_block_own
from apps.tokens.station_authorization import token_authorize_at_station
from tests.factories.tokens import TokenFactory

pytestmark = pytest.mark.django_db

EMSP = "https://emsp.example/ocpi/emsp/2.2.1/tokens"


@pytest.fixture
def bosphorus_emsp(bosphorus, our_parties):
    """Bosphorus announces its tokens Sender; we hold the token it gave us."""
    bosphorus.endpoints = [{"identifier": "tokens", "role": "SENDER", "url": EMSP}]
    bosphorus.outgoing_token_encrypted = token_vault.encrypt("token-for-bosphorus")
    bosphorus.save()
    return bosphorus


def driver(connection, whitelist, valid=True, uid="DRIVER1"):
    return TokenFactory(owner=connection.parties.get(), uid=uid, whitelist=whitelist, valid=valid)


def emsp_answers(allowed="ALLOWED", reference="REF-1", status=200, code=1000):
    body = {"status_code": code, "timestamp": "2026-11-01T00:00:00Z"}
    if code == 1000:
        body["data"] = {
            "allowed": allowed,
            "token": {"uid": "DRIVER1"},
            "authorization_reference": reference,
            "info": {"language": "en", "text": "enjoy"},
        }
    responses.post(f"{EMSP}/DRIVER1/authorize", json=body, status=status)


def decide(**kwargs):
    return token_authorize_at_station(
        uid=kwargs.pop("uid", "DRIVER1"), location_id="LOC1", evse_uid="EVSE1", **kwargs
    )


@responses.activate
@pytest.mark.parametrize(("valid", "allowed"), [(True, "ALLOWED"), (False, "BLOCKED")])
def test_always_is_decided_locally_without_asking(bosphorus_emsp, valid, allowed):
    driver(bosphorus_emsp, "ALWAYS", valid=valid)
    decision = decide()
    assert (decision.allowed, decision.source) == (allowed, "local")
    assert len(responses.calls) == 0


@responses.activate
def test_allowed_asks_the_emsp_and_keeps_its_reference(bosphorus_emsp):
    driver(bosphorus_emsp, "ALLOWED")
    emsp_answers(reference="EMSP-REF-42")
    decision = decide()
    assert (decision.allowed, decision.source) == ("ALLOWED", "realtime")
    assert decision.authorization_reference == "EMSP-REF-42"
    sent = responses.calls[0].request
    assert sent.url == f"{EMSP}/DRIVER1/authorize?type=RFID"
    assert sent.body == b'{"location_id": "LOC1", "evse_uids": ["EVSE1"]}'
    assert (sent.headers["OCPI-to-country-code"], sent.headers["OCPI-to-party-id"]) == ("TR", "BOS")
    assert sent.headers["OCPI-from-party-id"] == "ECH"
    stored = AuthorizationDecision.objects.get()
    assert stored.authorization_reference == "EMSP-REF-42"
    assert stored.connection == bosphorus_emsp


@responses.activate
def test_emsp_answering_blocked_is_refused_even_if_our_copy_is_valid(bosphorus_emsp):
    driver(bosphorus_emsp, "ALLOWED", valid=True)
    emsp_answers(allowed="BLOCKED")
    decision = decide()
    assert (decision.allowed, decision.source) == ("BLOCKED", "realtime")
    assert not decision.may_charge


@responses.activate
@pytest.mark.parametrize(
    ("whitelist", "valid", "allowed", "source"),
    [
        ("ALLOWED", True, "ALLOWED", "fallback"),
        ("ALLOWED", False, "BLOCKED", "fallback"),
        ("ALLOWED_OFFLINE", True, "ALLOWED", "fallback"),
        ("NEVER", True, "", "unavailable"),
    ],
)
def test_emsp_down(bosphorus_emsp, whitelist, valid, allowed, source):
    driver(bosphorus_emsp, whitelist, valid=valid)
    responses.post(f"{EMSP}/DRIVER1/authorize", body=requests.ConnectionError("refused"))
    decision = decide()
    assert (decision.allowed, decision.source) == (allowed, source)


@responses.activate
@pytest.mark.parametrize(
    ("whitelist", "allowed", "source"),
    [
        ("ALLOWED", "ALLOWED", "fallback"),
        ("ALLOWED_OFFLINE", "", "unavailable"),
        ("NEVER", "", "unavailable"),
    ],
)
def test_emsp_answering_an_error(bosphorus_emsp, whitelist, allowed, source):
    driver(bosphorus_emsp, whitelist)
    emsp_answers(status=500, code=3000)
    decision = decide()
    assert (decision.allowed, decision.source) == (allowed, source)


class SlowEmsp(http.server.BaseHTTPRequestHandler):
    delay = 3.0

    def do_POST(self):
        time.sleep(self.delay)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_emsp(bosphorus_emsp):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowEmsp)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/tokens"
    bosphorus_emsp.endpoints = [{"identifier": "tokens", "role": "SENDER", "url": url}]
    bosphorus_emsp.save()
    yield bosphorus_emsp
    server.shutdown()


@pytest.mark.parametrize(
    ("whitelist", "allowed", "source"),
    [
        ("ALLOWED", "ALLOWED", "fallback"),
        ("ALLOWED_OFFLINE", "ALLOWED", "fallback"),
        ("NEVER", "", "unavailable"),
    ],
)
def test_emsp_slower_than_the_timeout(slow_emsp, settings, whitelist, allowed, source):
    settings.TOKENS_REALTIME_TIMEOUT = 0.5
    driver(slow_emsp, whitelist)
    started = time.monotonic()
    decision = decide()
    assert time.monotonic() - started < 2.0, "the driver does not wait for a slow eMSP"
    assert (decision.allowed, decision.source) == (allowed, source)
    assert AuthorizationDecision.objects.get().latency_ms < 2000


def test_timeout_is_never_above_five_seconds(settings):
    from apps.tokens.station_authorization import _realtime_timeout

    settings.TOKENS_REALTIME_TIMEOUT = 60
    assert _realtime_timeout() == 5.0


@responses.activate
def test_unknown_token_is_asked_of_the_named_emsp(bosphorus_emsp):
    emsp_answers(reference="FIRST-SEEN")
    decision = decide(emsp=("tr", "bos"))
    assert (decision.allowed, decision.source) == ("ALLOWED", "realtime")
    assert decision.token is None


@responses.activate
def test_unknown_token_unknown_to_the_emsp_is_refused(bosphorus_emsp):
    responses.post(
        f"{EMSP}/DRIVER1/authorize",
        status=404,
        json={"status_code": 2004, "timestamp": "2026-11-01T00:00:00Z"},
    )
    decision = decide(emsp=("TR", "BOS"))
    assert (decision.allowed, decision.source) == ("", "unknown")


def test_unknown_token_without_emsp_is_refused_without_a_call(bosphorus_emsp):
    decision = decide(uid="NEVER-SEEN")
    assert (decision.allowed, decision.source) == ("", "unknown")
    assert AuthorizationDecision.objects.get().side == "cpo"


@responses.activate
def test_our_own_drivers_token_at_our_station_is_decided_locally(bosphorus_emsp):
    """`token_issue NC0001 ...` then `token_authorize NC0001 --location IST-TAKSIM` (README):
    we are that token's eMSP, so nobody is asked."""
    call_command(
        "token_issue", "NC0001", "--contract-id", "TR-ECH-C00000001", "--issuer", "echargo"
    )
    out = io.StringIO()
    call_command("token_authorize", "NC0001", "--location", "IST-TAKSIM", stdout=out)
    assert out.getvalue().startswith("allowed=ALLOWED source=local reference=-")
    assert not responses.calls

    token_block_own(token=Token.objects.get(uid="NC0001"))
    out = io.StringIO()
    call_command("token_authorize", "nc0001", "--location", "IST-TAKSIM", stdout=out)
    assert out.getvalue().startswith("allowed=BLOCKED source=local")
    decisions = AuthorizationDecision.objects.order_by("pk")
    assert [(d.side, d.allowed, d.token.uid) for d in decisions] == [
        ("cpo", "ALLOWED", "NC0001"),
        ("cpo", "BLOCKED", "NC0001"),
    ]


def test_a_partners_token_with_our_drivers_uid_is_still_the_partners(bosphorus_emsp):
    """A tap presents only a uid: a partner's token we hold keeps its rule (ALWAYS here)."""
    call_command("token_issue", "DRIVER1", "--contract-id", "TR-ECH-C2", "--issuer", "echargo")
    driver(bosphorus_emsp, "ALWAYS", valid=False)
    decision = decide()
    assert (decision.allowed, decision.source) == ("BLOCKED", "local")
    assert decision.token.owner.party_id == "BOS"
