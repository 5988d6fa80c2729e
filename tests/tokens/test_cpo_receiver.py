"""Our CPO tokens Receiver: partners push their drivers' tokens, only for their own parties."""

from __future__ import annotations

import json

import pytest

from apps.tokens.models import Token
from tests.conftest import OCPI_EXAMPLES

pytestmark = pytest.mark.django_db

URL = "/ocpi/cpo/2.2.1/tokens"


def example(name: str) -> dict:
    return json.loads((OCPI_EXAMPLES / name).read_text())


def token_body(**overrides):
    body = {
        "country_code": "TR",
        "party_id": "BOS",
        "uid": "ABC123",
        "type": "RFID",
        "contract_id": "TR-BOS-C0001",
        "issuer": "Bosphorus",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2026-11-01T10:00:00Z",
    }
    return body | overrides


@pytest.fixture
def tnm(bosphorus):
    """Bosphorus also hosts the eMSP DE*TNM and NL*TNM (white-label brands of the examples)."""
    from tests.factories.partners import PartyFactory

    for country in ("DE", "NL"):
        PartyFactory(country_code=country, party_id="TNM", role="EMSP", connection=bosphorus)
    return bosphorus


@pytest.mark.parametrize(
    "name",
    ["token_example_1_app_user.json", "token_example_2_full_rfid.json", "token_put_example.json"],
)
def test_official_token_examples_are_accepted_as_is(api, tnm, name):
    body = example(name)
    url = f"{URL}/{body['country_code']}/{body['party_id']}/{body['uid']}?type={body['type']}"
    response = api.as_token("bosphorus-token").put(url, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status_code"] == 1000
    stored = api.as_token("bosphorus-token").get(url).json()["data"]
    assert stored == body


def test_official_patch_example_blocks_the_token(api, tnm):
    body = example("token_put_example.json")
    url = f"{URL}/NL/TNM/{body['uid']}"
    api.as_token("bosphorus-token").put(url, body, format="json")
    response = api.as_token("bosphorus-token").patch(
        url, example("token_patch_example.json"), format="json"
    )
    assert response.json()["status_code"] == 1000
    assert Token.objects.get(uid="012345678").valid is False


def test_put_again_answers_200_and_replaces_optional_fields(api, bosphorus):
    client = api.as_token("bosphorus-token")
    client.put(f"{URL}/TR/BOS/ABC123", token_body(visual_number="V-1"), format="json")
    response = client.put(
        f"{URL}/TR/BOS/ABC123", token_body(last_updated="2026-11-02T10:00:00Z"), format="json"
    )
    assert response.status_code == 200
    assert Token.objects.get().visual_number == ""


def test_uid_is_case_insensitive(api, bosphorus):
    client = api.as_token("bosphorus-token")
    client.put(f"{URL}/TR/BOS/ABC123", token_body(), format="json")
    assert client.get(f"{URL}/tr/bos/abc123").json()["data"]["uid"] == "ABC123"


def test_older_push_does_not_overwrite_newer_token(api, bosphorus):
    client = api.as_token("bosphorus-token")
    client.put(
        f"{URL}/TR/BOS/ABC123",
        token_body(valid=False, last_updated="2026-11-05T00:00:00Z"),
        format="json",
    )
    client.put(f"{URL}/TR/BOS/ABC123", token_body(valid=True), format="json")
    client.patch(
        f"{URL}/TR/BOS/ABC123",
        {"valid": True, "last_updated": "2026-11-04T00:00:00Z"},
        format="json",
    )
    assert Token.objects.get().valid is False


@pytest.mark.parametrize(
    "change",
    [
        {"whitelist": "SOMETIMES"},
        {"type": "CARD"},
        {"uid": "X" * 37},
        {"contract_id": None},
        {"valid": "yes"},
        {"last_updated": "last tuesday"},
        {"issuer": "I" * 65},
        {"uid": "OTHER"},
        {"party_id": "HBA"},
    ],
)
def test_invalid_token_is_refused_with_2001_and_nothing_stored(api, bosphorus, change):
    response = api.as_token("bosphorus-token").put(
        f"{URL}/TR/BOS/ABC123", token_body(**change), format="json"
    )
    assert response.status_code == 200
    assert response.json()["status_code"] == 2001
    assert not Token.objects.exists()


def test_patch_without_last_updated_is_2001(api, bosphorus):
    client = api.as_token("bosphorus-token")
    client.put(f"{URL}/TR/BOS/ABC123", token_body(), format="json")
    response = client.patch(f"{URL}/TR/BOS/ABC123", {"valid": False}, format="json")
    assert response.json()["status_code"] == 2001
    assert Token.objects.get().valid is True


def test_patch_of_unknown_token_is_404(api, bosphorus):
    response = api.as_token("bosphorus-token").patch(
        f"{URL}/TR/BOS/NOPE",
        {"valid": False, "last_updated": "2026-11-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 404


def test_partner_cannot_push_tokens_for_another_party(api, bosphorus, hub):
    body = token_body(country_code="DE", party_id="HBA")
    response = api.as_token("bosphorus-token").put(f"{URL}/DE/HBA/ABC123", body, format="json")
    assert response.status_code == 404
    assert not Token.objects.exists()


def test_partner_cannot_read_another_partys_token(api, bosphorus, hub):
    from tests.factories.partners import PartyFactory

    PartyFactory(country_code="DE", party_id="HBE", role="EMSP", connection=hub)
    api.as_token("hub-token").put(
        f"{URL}/DE/HBE/SECRET1",
        token_body(country_code="DE", party_id="HBE", uid="SECRET1"),
        format="json",
    )
    assert Token.objects.count() == 1
    assert api.as_token("bosphorus-token").get(f"{URL}/DE/HBE/SECRET1").status_code == 404


def test_cpo_party_cannot_push_tokens(api, hub):
    body = token_body(country_code="DE", party_id="HBA")
    response = api.as_token("hub-token").put(f"{URL}/DE/HBA/ABC123", body, format="json")
    assert response.status_code == 404
