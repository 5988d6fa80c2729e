"""Actors of the tariffs tests.

- `our_cpo`: our own CPO party TR*ECH (from `our_parties`).
- `allego`: a connected CPO partner hosting DE*ALL, the party of the official tariff examples,
  calling us with token "all-token".
- `bosphorus_takes_tariffs`: the eMSP partner TR*BOS announcing a tariffs Receiver.
"""

from __future__ import annotations

import pytest

from apps.partners import token_vault
from tests.factories.partners import PartnerConnectionFactory, PartyFactory, issue_token

BOSPHORUS_TARIFFS = "https://bosphorus.example/ocpi/emsp/2.2.1/tariffs"


@pytest.fixture
def our_cpo(our_parties):
    return next(p for p in our_parties if p.role == "CPO")


@pytest.fixture
def allego(db):
    connection = PartnerConnectionFactory(name="Allego")
    PartyFactory(country_code="DE", party_id="ALL", role="CPO", connection=connection)
    issue_token(connection, "all-token")
    return connection


@pytest.fixture
def allego_cpo(allego):
    return allego.parties.get(role="CPO")


@pytest.fixture
def bosphorus_takes_tariffs(bosphorus):
    bosphorus.endpoints = [
        {"identifier": "tariffs", "role": "RECEIVER", "url": BOSPHORUS_TARIFFS},
    ]
    bosphorus.outgoing_token_encrypted = token_vault.encrypt("token-bosphorus-gave-us")
    bosphorus.save()
    return bosphorus
