"""Every receiver refuses, with one 404 shape, a party the caller carries in another role only."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("token", "method", "url", "message"),
    [
        # Bosphorus carries TR*BOS as an eMSP only: it cannot push locations or tariffs for it.
        (
            "bosphorus-token",
            "put",
            "/ocpi/emsp/2.2.1/locations/TR/BOS/LOC-1",
            "Unknown CPO party TR*BOS for this connection.",
        ),
        (
            "bosphorus-token",
            "put",
            "/ocpi/emsp/2.2.1/tariffs/TR/BOS/T-1",
            "Unknown CPO party TR*BOS for this connection.",
        ),
        # The hub carries DE*HBA as a CPO only: it cannot push tokens for it.
        (
            "hub-token",
            "get",
            "/ocpi/cpo/2.2.1/tokens/DE/HBA/ABC123",
            "Unknown EMSP party DE*HBA for this connection.",
        ),
    ],
)
def test_receivers_refuse_a_party_of_the_caller_in_another_role(
    api, bosphorus, hub, token, method, url, message
):
    client = api.as_token(token)
    response = client.get(url) if method == "get" else client.put(url, {}, format="json")
    assert response.status_code == 404
    assert response.json()["status_code"] == 2000
    assert response.json()["status_message"] == message
