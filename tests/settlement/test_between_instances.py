"""Two echargo instances that roamed with each other settle to the cent: our CDR for the
peer's driver is POSTed to the peer's receiver, reconciled there without dispute, and the
peer's payable statement matches our receivable one."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from apps.cdrs.models import Cdr
from apps.partners.models import Party
from apps.partners.outbox import outbox_deliver
from apps.settlement.models import Statement
from apps.settlement.services import statements_build
from apps.tokens.models import Token
from tests.factories.cdrs import completed_session
from tests.factories.locations import EVSEData, own_location
from tests.factories.tariffs import PriceComponentData, TariffElementData, own_tariff
from tests.factories.tokens import TokenFactory

pytestmark = [pytest.mark.peer, pytest.mark.django_db(transaction=True)]
MARCH = dt.date(2026, 3, 1)  # the sessions of tests/factories/cdrs.py start 2026-03-02
COMPONENTS = [
    PriceComponentData(type="FLAT", price="1.15", vat="20", step_size=1),
    PriceComponentData(type="ENERGY", price="0.3333", vat="20", step_size=1),
    PriceComponentData(type="TIME", price="2.10", vat="20", step_size=60),
]


def test_statements_of_two_roaming_instances_agree_to_the_cent(peer, connected_peer):
    cpo = Party.objects.get(is_own=True, role="CPO")
    own_tariff(cpo, id="PEER-AC", elements=[TariffElementData(price_components=COMPONENTS)])
    station = own_location(cpo, evses=[EVSEData(uid="E1")])
    connector = station.evses.get().connectors.get()
    connector.tariff_ids = ["PEER-AC"]
    connector.save()
    peer.manage("token_issue", "PEE-DRIVER-7", "--contract-id", "NL-PEE-C7", "--issuer", "Peer")
    driver = Token.objects.filter(uid_key="PEE-DRIVER-7").first() or TokenFactory(
        owner=Party.objects.get(country_code="NL", party_id="PEE", role="EMSP"),
        uid="PEE-DRIVER-7",
        contract_id="NL-PEE-C7",
    )

    for kwh, minutes in ((7, 47), (22, 95)):
        completed_session(cpo, station, token=driver, kwh=kwh, minutes=minutes)
    outbox_deliver(connection_id=connected_peer.pk)
    ours = list(Cdr.objects.filter(owner=cpo))
    assert len(ours) == 2
    assert all(cdr.location_header.startswith(peer.url) for cdr in ours)  # the peer holds them

    statements_build(period_start=MARCH)
    receivable = Statement.objects.get(
        direction="receivable", country_code="NL", party_id="PEE", period_start=MARCH
    )
    assert receivable.cdr_count == 2
    assert receivable.total_excl_vat == sum(c.total_cost_excl_vat for c in ours)

    out = peer.manage("settle", "--period", "2026-03", "--partner", "TR*ECH")
    payable = re.search(r"Payable TR\*ECH 2026-03 (\w+): (.*)", out)
    assert payable, out
    assert payable.group(1) == receivable.currency
    assert payable.group(2) == (
        f"2 CDRs, {receivable.energy_kwh:f} kWh, {receivable.total_excl_vat:f} excl. VAT / "
        f"{receivable.total_incl_vat:f} incl. VAT; 0 held out"
    )
    assert receivable.total_excl_vat > Decimal(0)
