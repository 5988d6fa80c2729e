"""Our eMSP tokens Sender: our drivers' tokens listed and authorized in real time for CPOs."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.partners import token_vault
from apps.partners.models import OutboxMessage
from apps.tokens.models import AuthorizationDecision, Token
from apps.tokens.services import token_block_own, token_issue_own, token_update_own
from tests.factories.partners import PartyFactory
from tests.factories.tokens import TokenFactory

pytestmark = pytest.mark.django_db

AUTHORIZE = "/ocpi/emsp/2.2.1/tokens/{uid}/authorize"


@pytest.fixture
def our_emsp(our_parties):
    return next(p for p in our_parties if p.role == "EMSP")


@pytest.fixture
def cpo_partner(hub):
    """The hub's CPOs take our tokens by push."""
    hub.endpoints = [
        {
            "identifier": "tokens",
            "role": "RECEIVER",
            "url": "https://hub.example/ocpi/cpo/2.2.1/tokens",
        }
    ]
    hub.outgoing_token_encrypted = token_vault.encrypt("hub-side-token")
    hub.save()
    return hub


def test_list_serves_only_our_drivers_tokens(api, hub, our_emsp, bosphorus):
    TokenFactory.create_batch(3, owner=our_emsp)
    TokenFactory(owner=PartyFactory(country_code="TR", party_id="BOS", role="EMSP"))
    response = api.as_token("hub-token").get("/ocpi/emsp/2.2.1/tokens")
    assert response["X-Total-Count"] == "3"
    assert {t["party_id"] for t in response.json()["data"]} == {"ECH"}


def test_list_costs_the_same_queries_for_any_page_size(api, hub, our_emsp):
    TokenFactory.create_batch(60, owner=our_emsp)
    client = api.as_token("hub-token")
    counts = []
    for limit in (1, 50):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/ocpi/emsp/2.2.1/tokens?limit={limit}")
        assert len(response.json()["data"]) == limit
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 7, "auth, count, page ids, page rows, exchange log"


def test_authorize_known_token_is_allowed_with_a_reference_we_keep(api, hub, our_emsp):
    TokenFactory(owner=our_emsp, uid="CARD0001")
    response = api.as_token("hub-token").post(
        AUTHORIZE.format(uid="card0001") + "?type=RFID",
        {"location_id": "LOC1", "evse_uids": ["EVSE1"]},
        format="json",
    )
    data = response.json()["data"]
    assert data["allowed"] == "ALLOWED"
    assert data["token"]["uid"] == "CARD0001"
    assert data["location"] == {"location_id": "LOC1", "evse_uids": ["EVSE1"]}
    decision = AuthorizationDecision.objects.get()
    assert decision.authorization_reference == data["authorization_reference"]
    assert decision.connection == hub
    assert len(data["authorization_reference"]) <= 36


def test_authorization_references_are_unique_and_follow_the_clock(api, hub, our_emsp):
    TokenFactory(owner=our_emsp, uid="CARD0001")
    before_ms = time.time_ns() // 1_000_000
    references = [
        api.as_token("hub-token")
        .post(AUTHORIZE.format(uid="CARD0001") + "?type=RFID", {}, format="json")
        .json()["data"]["authorization_reference"]
        for _ in range(3)
    ]
    assert len(set(references)) == 3
    for reference in references:
        assert re.fullmatch(r"[0-9a-f]{32}", reference)
        # Leading milliseconds: new references go to the end of the index, not all over it.
        assert before_ms <= int(reference[:12], 16) <= time.time_ns() // 1_000_000


def test_authorize_blocked_token_answers_blocked_with_1000(api, hub, our_emsp):
    TokenFactory(owner=our_emsp, uid="CARD0002", valid=False)
    response = api.as_token("hub-token").post(AUTHORIZE.format(uid="CARD0002"))
    assert response.status_code == 200
    assert response.json()["status_code"] == 1000
    assert response.json()["data"]["allowed"] == "BLOCKED"


def test_authorize_unknown_token_is_http_404_with_2004(api, hub, our_emsp):
    response = api.as_token("hub-token").post(AUTHORIZE.format(uid="NOPE"))
    assert response.status_code == 404
    assert response.json()["status_code"] == 2004
    assert "data" not in response.json()


def test_authorize_with_invalid_location_references_is_2001(api, hub, our_emsp):
    TokenFactory(owner=our_emsp, uid="CARD0003")
    response = api.as_token("hub-token").post(
        AUTHORIZE.format(uid="CARD0003"), {"evse_uids": ["E1"]}, format="json"
    )
    assert response.json()["status_code"] == 2001


@pytest.mark.parametrize(
    "body",
    [
        ["LOC1"],
        {"location_id": ""},
        {"location_id": "L" * 37},
        {"location_id": "LOC\u00e71"},
        {"location_id": "LOC1", "evse_uids": "EVSE1"},
        {"location_id": "LOC1", "evse_uids": [None]},
    ],
)
def test_authorize_refuses_bad_location_references_and_decides_nothing(api, hub, our_emsp, body):
    TokenFactory(owner=our_emsp, uid="CARD0004")
    response = api.as_token("hub-token").post(AUTHORIZE.format(uid="CARD0004"), body, format="json")
    assert response.json()["status_code"] == 2001
    assert not AuthorizationDecision.objects.exists()


def test_authorize_type_defaults_to_rfid_and_must_be_known(api, hub, our_emsp):
    TokenFactory(owner=our_emsp, uid="APP1", type="APP_USER")
    client = api.as_token("hub-token")
    assert client.post(AUTHORIZE.format(uid="APP1")).status_code == 404
    assert client.post(AUTHORIZE.format(uid="APP1") + "?type=APP_USER").status_code == 200
    assert client.post(AUTHORIZE.format(uid="APP1") + "?type=CARD").json()["status_code"] == 2001


def test_issuing_a_token_pushes_it_to_every_cpo_partner(our_emsp, cpo_partner, bosphorus):
    token = token_issue_own(
        owner=our_emsp, uid="NEWCARD", contract_id="TR-ECH-C1", issuer="echargo"
    )
    message = OutboxMessage.objects.get()
    assert message.connection == cpo_partner, "bosphorus is an eMSP: it does not take tokens"
    assert message.method == "PUT"
    assert message.path == "TR/ECH/NEWCARD?type=RFID"
    assert json.loads(message.body)["uid"] == token.uid


def test_blocking_pushes_a_patch_with_last_updated(our_emsp, cpo_partner):
    token = TokenFactory(owner=our_emsp)
    token_block_own(token=token)
    message = OutboxMessage.objects.get()
    assert message.method == "PATCH"
    body = json.loads(message.body)
    assert body["valid"] is False
    assert body["last_updated"].endswith("Z")
    assert Token.objects.get().history.first().history_change_reason == "Blocked by staff"


def test_other_changes_push_the_whole_token(our_emsp, cpo_partner):
    token = TokenFactory(owner=our_emsp)
    token_update_own(token=token, changes={"visual_number": "V-9"})
    assert OutboxMessage.objects.get().method == "PUT"


def test_partner_token_cannot_be_changed_as_ours(bosphorus):
    from rest_framework.exceptions import ValidationError

    token = TokenFactory(owner=bosphorus.parties.get())
    with pytest.raises(ValidationError):
        token_block_own(token=token)
