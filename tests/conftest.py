"""Named actors shared by every test module.

- `our_parties`: this platform, TR*ECH, in both roles (CPO and EMSP).
- `bosphorus`: a connected eMSP partner, TR*BOS, calling us with token "bosphorus-token".
- `hub`: a connected hub carrying two CPOs, DE*HBA and DE*HBB, with token "hub-token".
- `api`: a DRF test client that speaks OCPI (Base64 token header) for a given token.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import hypothesis
import pytest
from rest_framework.test import APIClient

from apps.partners.services import party_upsert_own
from tests.factories.partners import PartnerConnectionFactory, PartyFactory, issue_token

# CI (.ci/run sets CI=1) draws the same examples on every run, so a run is red only for a
# change and never for a lucky draw; bin/test elsewhere draws new ones, to keep finding cases.
# Profiles registered later (tests/tariffs/test_pricing_properties.py) inherit this one.
hypothesis.settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")

# Reference data the tests read, carried in the repository (tests/data/README.md names sources).
TEST_DATA = Path(__file__).resolve().parent / "data"
OCPI_EXAMPLES = TEST_DATA / "ocpi-examples-2.2.1"


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


@pytest.fixture
def celery_worker_process(tmp_path, ocpi_live, settings):
    """A real Celery worker on Redis sharing our test database (needs REDIS_URL, as CI sets)."""
    import os

    from django.db import connection

    from tests.peer import CeleryWorker

    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set: no broker for a real worker (CI sets it)")
    worker = CeleryWorker(
        tmp_path, connection.settings_dict, {"OCPI_BASE_URL": ocpi_live.url}
    ).start()
    yield worker
    worker.stop()


@pytest.fixture
def connected_peer(peer, ocpi_live):
    """We registered with the peer (both sides CPO + eMSP); unregistered again afterwards."""
    from apps.partners.services import (
        connection_register_with_partner,
        connection_unregister_with_partner,
    )

    versions_url, token_a = peer.invite("echargo TR")
    connection = connection_register_with_partner(
        versions_url=versions_url, token_a=token_a, name="Peer Charging"
    )
    yield connection
    connection.refresh_from_db()
    if connection.status == "connected":
        connection_unregister_with_partner(connection=connection, force=True)
