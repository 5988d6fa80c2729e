"""Actors of the settlement tests.

- `anatolia`: a connected partner, TR*ANA, playing both roles with us (CPO and eMSP), which
  published its tariff ANA-AC (0.50 TRY/kWh, 20 % VAT) to us.
- `our_driver`: our eMSP's token ECH-DRIVER-1; `their_driver`: Anatolia's token ANA-DRIVER-1.
- `cdrs`: builds OCPI CDR documents; Anatolia POSTs its own to our CDR receiver, ours are
  stored as the cdrs app stores them (tests/settlement/cdrs.py).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.partners.models import Party
from tests.factories.partners import PartnerConnectionFactory, PartyFactory, issue_token
from tests.factories.tariffs import partner_tariff
from tests.factories.tokens import TokenFactory

from .cdrs import PARTNER_TOKEN, CdrMaker


@pytest.fixture
def anatolia(db, our_parties):
    connection = PartnerConnectionFactory(name="Anatolia Charge")
    for role in ("CPO", "EMSP"):
        PartyFactory(
            country_code="TR", party_id="ANA", role=role, connection=connection, name="Anatolia"
        )
    partner_tariff(
        Party.objects.get(country_code="TR", party_id="ANA", role="CPO"),
        id="ANA-AC",
        elements=[
            {
                "price_components": [
                    {
                        "type": "ENERGY",
                        "price": Decimal("0.50"),
                        "vat": Decimal("20"),
                        "step_size": 1,
                    }
                ]
            }
        ],
    )
    return connection


@pytest.fixture
def our_driver(our_parties):
    return TokenFactory(
        owner=Party.objects.get(is_own=True, role="EMSP"),
        uid="ECH-DRIVER-1",
        contract_id="TR-ECH-C1",
    )


@pytest.fixture
def their_driver(anatolia):
    return TokenFactory(
        owner=Party.objects.get(country_code="TR", party_id="ANA", role="EMSP"),
        uid="ANA-DRIVER-1",
        contract_id="TR-ANA-C1",
    )


@pytest.fixture
def cdrs(anatolia, our_driver, their_driver, api):
    issue_token(anatolia, PARTNER_TOKEN)
    return CdrMaker(connection=anatolia, api=api)
