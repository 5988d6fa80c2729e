"""A foreign partner (tests/foreign_partner.py) connected to us: DE*FOR, a CPO and an eMSP."""

from __future__ import annotations

import pytest

from apps.partners import token_vault
from tests.factories.partners import PartnerConnectionFactory, PartyFactory
from tests.foreign_partner import ForeignPartnerServer


@pytest.fixture
def foreign_partner():
    with ForeignPartnerServer() as partner:
        yield partner


@pytest.fixture
def foreign(db, foreign_partner, our_parties):
    """Our connection to the foreign partner, announcing its Senders and Receivers."""
    connection = PartnerConnectionFactory(
        name="Foreign Roaming",
        versions_url=f"{foreign_partner.url}/ocpi/versions",
        endpoints=[
            *foreign_partner.endpoints("locations", "tariffs", "tokens"),
            *foreign_partner.endpoints("locations", "tariffs", "tokens", role="RECEIVER"),
        ],
        outgoing_token_encrypted=token_vault.encrypt("token-for-foreign"),
    )
    for role in ("CPO", "EMSP"):
        PartyFactory(
            country_code="DE", party_id="FOR", role=role, connection=connection, name="Foreign"
        )
    return connection
