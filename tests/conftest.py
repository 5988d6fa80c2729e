"""Named actors shared by every test module.

- `our_parties`: this platform, TR*ECH, in both roles (CPO and EMSP).
- `bosphorus`: a connected eMSP partner, TR*BOS, calling us with token "bosphorus-token".
- `hub`: a connected hub carrying two CPOs, DE*HBA and DE*HBB, with token "hub-token".
- `api`: a DRF test client that speaks OCPI (Base64 token header) for a given token.
"""

from __future__ import annotations

import base64

import pytest
from rest_framework.test import APIClient

from apps.partners.services import party_upsert_own
from tests.factories.partners import PartnerConnectionFactory, PartyFactory, issue_token


def token_header(token: str) -> str:
    return "Token " + base64.b64encode(token.encode()).decode()


class OcpiTestClient(APIClient):
    def as_token(self, token: str | None, raw: bool = False) -> OcpiTestClient:
        if token is None:
            self.credentials()
        else:
            self.credentials(HTTP_AUTHORIZATION=f"Token {token}" if raw else token_header(token))
        return self


@pytest.fixture
def api() -> OcpiTestClient:
    return OcpiTestClient()


@pytest.fixture
def our_parties(db):
    return party_upsert_own(
        country_code="TR", party_id="ECH", roles=["CPO", "EMSP"], name="echargo Test Operator"
    )


@pytest.fixture
def bosphorus(db):
    connection = PartnerConnectionFactory(name="Bosphorus Mobility")
    PartyFactory(
        country_code="TR",
        party_id="BOS",
        role="EMSP",
        connection=connection,
        name="Bosphorus Mobility",
    )
    issue_token(connection, "bosphorus-token")
    return connection


@pytest.fixture
def hub(db):
    connection = PartnerConnectionFactory(name="Roaming Hub")
    for party_id in ("HBA", "HBB"):
        PartyFactory(country_code="DE", party_id=party_id, role="CPO", connection=connection)
    issue_token(connection, "hub-token")
    return connection


@pytest.fixture(scope="session")
def peer(tmp_path_factory):
    """A second echargo instance (NL*PEE, CPO + eMSP) over real HTTP on loopback."""
    from tests.peer import PeerInstance

    instance = PeerInstance(tmp_path_factory.mktemp("peer")).start()
    yield instance
    instance.stop()


@pytest.fixture
def ocpi_live(live_server, settings, our_parties):
    """Our own instance served over real HTTP; partners reach our versions URL through it."""
    settings.OCPI_BASE_URL = live_server.url
    return live_server
