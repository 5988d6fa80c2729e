"""Two echargo instances that roamed with each other settle to the cent: our CDRs for the
peer's driver are POSTed to the peer's receiver and reconciled there; a deliberately mispriced
one is caught as a dispute and settled by our credit CDR and its replacement; the peer's
payable statement matches our receivable one.

One test for the whole journey: the peer lives for the test session, and its statements take
every CDR it holds for the month."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db.models import F

from apps.cdrs.models import Cdr
from apps.cdrs.services import cdr_correct
from apps.partners.models import OutboxMessage, Party
from apps.partners.outbox import outbox_deliver
from apps.settlement.models import Statement
from apps.settlement.services import statements_build
from apps.tokens.models import Token
from echargo.ocpi.wire import ocpi_dumps, ocpi_loads
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
    # A third one goes out mispriced (as if our tariff had been misapplied): 5.00 too much.
    mispriced = completed_session(cpo, station, token=driver, kwh=3, minutes=20).cdrs.get()
    _overcharge(mispriced, Decimal("5.00"))
    outbox_deliver(connection_id=connected_peer.pk)
    assert all(c.location_header.startswith(peer.url) for c in Cdr.objects.filter(owner=cpo))
    assert _peer_disputes(peer) == [(mispriced.cdr_id, "price_deviation", "open")]

    # Staff correct it: a credit CDR and a replacement priced again by the engine.
    cdr_correct(cdr=mispriced, replace=True, reason="tariff misapplied")
    outbox_deliver(connection_id=connected_peer.pk)
    assert _peer_disputes(peer) == [(mispriced.cdr_id, "price_deviation", "credited")]
    ours = list(Cdr.objects.filter(owner=cpo))
    assert len(ours) == 5

    statements_build(period_start=MARCH)
    receivable = Statement.objects.get(
        direction="receivable", country_code="NL", party_id="PEE", period_start=MARCH
    )
    assert (receivable.cdr_count, receivable.credit_count) == (5, 1)
    assert receivable.total_excl_vat == sum(c.total_cost_excl_vat for c in ours)

    out = peer.manage("settle", "--period", "2026-03", "--partner", "TR*ECH")
    payable = re.search(r"Payable TR\*ECH 2026-03 (\w+): (.*)", out)
    assert payable, out
    assert payable.group(1) == receivable.currency
    assert payable.group(2) == (
        f"5 CDRs, {receivable.energy_kwh:f} kWh, {receivable.total_excl_vat:f} excl. VAT / "
        f"{receivable.total_incl_vat:f} incl. VAT; 0 held out"
    )
    assert receivable.total_excl_vat > Decimal(0)


def _overcharge(cdr: Cdr, amount: Decimal) -> None:
    """Make our queued CDR (row and the POST body waiting in the outbox) cost `amount` more."""
    document = ocpi_loads(cdr.ocpi_json)
    for part in ("excl_vat", "incl_vat"):
        document["total_cost"][part] += amount
        document["total_energy_cost"][part] += amount
    text = ocpi_dumps(document)
    Cdr.objects.filter(pk=cdr.pk).update(
        ocpi_json=text,
        total_cost_excl_vat=F("total_cost_excl_vat") + amount,
        total_cost_incl_vat=F("total_cost_incl_vat") + amount,
        total_energy_cost_excl_vat=F("total_energy_cost_excl_vat") + amount,
        total_energy_cost_incl_vat=F("total_energy_cost_incl_vat") + amount,
    )
    message = OutboxMessage.objects.get(object_key__endswith=f"/{cdr.cdr_id}", method="POST")
    OutboxMessage.objects.filter(pk=message.pk).update(body=text)


def _peer_disputes(peer) -> list[tuple[str, str, str]]:
    out = peer.manage(
        "shell",
        "--no-imports",
        "-c",
        "from apps.settlement.models import Dispute\n"
        "for d in Dispute.objects.order_by('pk'):\n"
        "    print('DISPUTE', d.cdr.cdr_id, d.reason, d.status)",
    )
    return [tuple(line.split()[1:]) for line in out.splitlines() if line.startswith("DISPUTE ")]
