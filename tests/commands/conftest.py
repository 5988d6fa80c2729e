"""Actors for the commands tests.

- `cpo`, `emsp`, `station` (our location, EVSEs E1 and E2, connector "1" each), `charger`
  (CP-ISTIKLAL-1: OCPP connector 1 -> E1, 2 -> E2), `central_system`: as in tests/chargers.
- `foreign_partner`: a partner that is not Django (tests/foreign_partner.py) on loopback.
- `foreign_emsp`: our connection to it as an eMSP, DE*FOR; it calls us with "foreign-token"
  and its driver's token is FOR_TOKEN (uid FORDRIVER01), listed at its tokens Sender.
- `foreign_cpo`: our connection to it as a CPO, DE*FOC, with one location LOC-FOC-1 (EVSE
  FOC-E1, connector "1") it PUT to our locations Receiver; it calls us with "foc-token".
- `driver_token`: one of our own drivers' tokens (uid 04OURDRIVER01).
"""

from __future__ import annotations

import pytest

from apps.partners import token_vault
from tests.chargers.conftest import (  # noqa: F401 (fixtures)
    central_system,
    charger,
    cpo,
    driver_token,
    emsp,
    station,
)
from tests.factories.locations import EVSEData, LocationData
from tests.factories.partners import PartnerConnectionFactory, PartyFactory, issue_token
from tests.foreign_partner import ForeignPartnerServer

FOR_TOKEN = {
    "country_code": "DE",
    "party_id": "FOR",
    "uid": "FORDRIVER01",
    "type": "RFID",
    "contract_id": "DE-FOR-C0001",
    "issuer": "Foreign Mobility",
    "valid": True,
    "whitelist": "ALLOWED",
    "last_updated": "2026-11-01T10:00:00Z",
}


@pytest.fixture
def foreign_partner():
    with ForeignPartnerServer() as partner:
        partner.lists["tokens"] = [FOR_TOKEN]
        yield partner


@pytest.fixture
def foreign_emsp(db, foreign_partner, our_parties):
    connection = PartnerConnectionFactory(
        name="Foreign Mobility",
        versions_url=f"{foreign_partner.url}/ocpi/versions",
        endpoints=foreign_partner.endpoints("tokens", "commands"),
        outgoing_token_encrypted=token_vault.encrypt("token-for-foreign"),
    )
    PartyFactory(
        country_code="DE", party_id="FOR", role="EMSP", connection=connection, name="Foreign"
    )
    issue_token(connection, "foreign-token")
    return connection


@pytest.fixture
def foreign_cpo(db, foreign_partner, our_parties, api):
    connection = PartnerConnectionFactory(
        name="Foreign Charging",
        versions_url=f"{foreign_partner.url}/ocpi/versions",
        endpoints=foreign_partner.endpoints("commands", role="RECEIVER"),
        outgoing_token_encrypted=token_vault.encrypt("token-for-foc"),
    )
    PartyFactory(
        country_code="DE", party_id="FOC", role="CPO", connection=connection, name="Foreign CPO"
    )
    issue_token(connection, "foc-token")
    location = LocationData(
        country_code="DE", party_id="FOC", id="LOC-FOC-1", evses=[EVSEData(uid="FOC-E1")]
    )
    answer = api.as_token("foc-token").put(
        "/ocpi/emsp/2.2.1/locations/DE/FOC/LOC-FOC-1", location, format="json"
    )
    assert answer.status_code == 201, answer.content
    return connection
