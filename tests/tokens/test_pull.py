"""Pulling an eMSP partner's tokens from its Sender; a complete full pull makes invalid the
tokens the eMSP no longer lists, so a tap never authorizes them locally."""

from __future__ import annotations

import json

import pytest
import responses

from apps.partners import token_vault
from apps.partners.models import SyncState
from apps.partners.pull import pull_run
from apps.tokens.models import Token
from apps.tokens.station_authorization import token_authorize_at_station

pytestmark = pytest.mark.django_db

SENDER = "https://bosphorus.example/ocpi/emsp/2.2.1/tokens"


@pytest.fixture
def bosphorus_sends(bosphorus, our_parties):
    bosphorus.endpoints = [{"identifier": "tokens", "role": "SENDER", "url": SENDER}]
    bosphorus.outgoing_token_encrypted = token_vault.encrypt("token-for-bosphorus")
    bosphorus.save()
    return bosphorus


def token_data(uid, **overrides):
    return {
        "country_code": "TR",
        "party_id": "BOS",
        "uid": uid,
        "type": "RFID",
        "contract_id": f"TR-BOS-{uid}",
        "issuer": "Bosphorus",
        "valid": True,
        # ALWAYS: a tap is decided locally, from what we hold, without asking the eMSP.
        "whitelist": "ALWAYS",
        "last_updated": "2026-11-01T10:00:00Z",
    } | overrides


def page(data):
    body = {"data": data, "status_code": 1000, "timestamp": "2026-11-01T00:00:00Z"}
    return {"body": json.dumps(body), "headers": {"X-Total-Count": str(len(data))}}


@pytest.fixture
def bosphorus_holds_two(bosphorus_sends):
    """A first full pull stored KEEP and GONE, both valid."""
    with responses.RequestsMock() as mock:
        mock.get(SENDER, **page([token_data("KEEP"), token_data("GONE")]))
        assert pull_run(connection=bosphorus_sends, module="tokens", full=True).stored == 2
    return bosphorus_sends


def valid():
    return dict(Token.objects.values_list("uid", "valid"))


def tap(uid):
    return token_authorize_at_station(uid=uid, location_id="LOC1").allowed


@responses.activate
def test_full_pull_makes_a_token_the_emsp_no_longer_lists_invalid(bosphorus_holds_two):
    assert tap("GONE") == "ALLOWED"
    responses.get(SENDER, **page([token_data("keep")]))

    result = pull_run(connection=bosphorus_holds_two, module="tokens", full=True)

    assert result.completed
    assert result.retired == 1
    assert valid() == {"keep": True, "GONE": False}
    assert tap("GONE") == "BLOCKED"
    gone = Token.objects.get(uid="GONE")
    assert gone.history.first().history_change_reason == (
        "Not listed in a full pull from Bosphorus Mobility"
    )
    state = SyncState.objects.get(connection=bosphorus_holds_two, module="tokens")
    assert state.last_counts["retired"] == 1


@responses.activate
def test_a_token_listed_again_is_valid_again(bosphorus_holds_two):
    responses.get(SENDER, **page([token_data("KEEP")]))
    pull_run(connection=bosphorus_holds_two, module="tokens", full=True)
    responses.replace(responses.GET, SENDER, **page([token_data("KEEP"), token_data("GONE")]))

    pull_run(connection=bosphorus_holds_two, module="tokens", full=True)

    assert valid() == {"KEEP": True, "GONE": True}


@responses.activate
def test_incremental_token_pull_invalidates_nothing(bosphorus_holds_two):
    responses.get(SENDER, **page([token_data("KEEP")]))

    result = pull_run(connection=bosphorus_holds_two, module="tokens")

    assert result.retired == 0
    assert valid() == {"KEEP": True, "GONE": True}


@responses.activate
def test_broken_token_page_invalidates_nothing(bosphorus_holds_two):
    responses.get(
        SENDER, status=500, json={"status_code": 3000, "timestamp": "2026-11-01T00:00:00Z"}
    )

    result = pull_run(connection=bosphorus_holds_two, module="tokens", full=True)

    assert not result.completed
    assert valid() == {"KEEP": True, "GONE": True}


@responses.activate
def test_empty_token_list_while_we_hold_tokens_invalidates_nothing(bosphorus_holds_two):
    responses.get(SENDER, **page([]))

    result = pull_run(connection=bosphorus_holds_two, module="tokens", full=True)

    assert valid() == {"KEEP": True, "GONE": True}
    assert result.errors == ["Nothing retired: the partner listed no tokens while we hold 2."]


@responses.activate
def test_a_listed_token_rejected_as_invalid_stays_valid(bosphorus_holds_two):
    broken = token_data("GONE", type="BADGE", last_updated="2026-11-02T10:00:00Z")
    responses.get(SENDER, **page([token_data("KEEP"), broken]))

    result = pull_run(connection=bosphorus_holds_two, module="tokens", full=True)

    assert (result.stored, result.rejected, result.retired) == (1, 1, 0)
    assert valid() == {"KEEP": True, "GONE": True}
