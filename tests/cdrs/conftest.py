from __future__ import annotations

import pytest

from tests.factories.locations import EVSEData, own_location
from tests.factories.tariffs import PriceComponentData, TariffElementData, own_tariff
from tests.factories.tokens import TokenFactory

COMPONENTS = [
    PriceComponentData(type="FLAT", price="1.00", vat="20", step_size=1),
    PriceComponentData(type="ENERGY", price="0.25", vat="20", step_size=1),
    PriceComponentData(type="TIME", price="2.00", vat="20", step_size=1),
    PriceComponentData(type="PARKING_TIME", price="3.00", vat="20", step_size=1),
]


@pytest.fixture
def cpo(our_parties):
    return next(p for p in our_parties if p.role == "CPO")


@pytest.fixture
def station(cpo):
    """Our location whose connector is priced by FLAT 1.00 + 0.25/kWh + 2.00/h + 3.00/h parked."""
    own_tariff(cpo, id="ALL-IN", elements=[TariffElementData(price_components=COMPONENTS)])
    location = own_location(cpo, evses=[EVSEData(uid="E1")])
    connector = location.evses.get().connectors.get()
    connector.tariff_ids = ["ALL-IN"]
    connector.save()
    return location


@pytest.fixture
def bosphorus_token(bosphorus):
    """A partner eMSP's driver token (TR*BOS) held on our CPO side."""
    party = bosphorus.parties.get()
    return TokenFactory(owner=party, country_code="TR", party_id="BOS", uid="BOS-0001")
