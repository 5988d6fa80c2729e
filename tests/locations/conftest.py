"""Actors for the Locations tests.

- `cpo`: our own CPO party TR*ECH.
- `bosphorus_receives`: the eMSP partner TR*BOS, announcing a locations Receiver we push to.
- `anatolia_receives`: a second eMSP partner TR*ANA (named "Anatolia Drive"), also a receiver.
- `examples_cpo`: a partner connection carrying the CPO parties of the spec's example payloads
  (BE*BEC, SE*EVC, NL*ALF, NL*ALL, DE*ALL), calling us with token "examples-token".
"""

from __future__ import annotations

import json

import pytest

from apps.partners import token_vault
from apps.partners.models import PartnerConnection, Party
from tests.conftest import OCPI_EXAMPLES
from tests.factories.partners import PartnerConnectionFactory, PartyFactory, issue_token

BOSPHORUS_LOCATIONS = "https://bosphorus.example/ocpi/emsp/2.2.1/locations"
ANATOLIA_LOCATIONS = "https://anatolia.example/ocpi/emsp/2.2.1/locations"


def example(name: str) -> dict:
    return json.loads((OCPI_EXAMPLES / f"{name}.json").read_text())


def receives_locations(connection: PartnerConnection, url: str) -> PartnerConnection:
    connection.endpoints = [{"identifier": "locations", "role": "RECEIVER", "url": url}]
    connection.outgoing_token_encrypted = token_vault.encrypt(f"token-for-{connection.pk}")
    connection.save()
    return connection


@pytest.fixture
def cpo(our_parties) -> Party:
    return next(p for p in our_parties if p.role == "CPO")


@pytest.fixture
def bosphorus_receives(bosphorus) -> PartnerConnection:
    return receives_locations(bosphorus, BOSPHORUS_LOCATIONS)


@pytest.fixture
def anatolia_receives(db) -> PartnerConnection:
    connection = PartnerConnectionFactory(name="Anatolia Drive")
    PartyFactory(
        country_code="TR",
        party_id="ANA",
        role="EMSP",
        connection=connection,
        name="Anatolia Drive",
    )
    issue_token(connection, "anatolia-token")
    return receives_locations(connection, ANATOLIA_LOCATIONS)


@pytest.fixture
def examples_cpo(db) -> PartnerConnection:
    connection = PartnerConnectionFactory(name="Example CPOs")
    for country_code, party_id in (("BE", "BEC"), ("SE", "EVC"), ("NL", "ALF"), ("NL", "ALL")):
        PartyFactory(
            country_code=country_code, party_id=party_id, role="CPO", connection=connection
        )
    PartyFactory(country_code="DE", party_id="ALL", role="CPO", connection=connection)
    issue_token(connection, "examples-token")
    return connection
