"""A simulated charger over a real WebSocket charges a partner driver: StopTransaction ends the
session, the CDR is made with every line total and POSTed to the driver's (non-Django) eMSP,
which holds it; its `location` answer is kept. The sender list then shows it to that eMSP only."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from apps.cdrs.models import Cdr
from apps.chargers.simulator import connected
from apps.partners.models import OutboxMessage
from apps.partners.outbox import outbox_deliver
from tests.chargers.conftest import central_system  # noqa: F401 (fixture)
from tests.factories.chargers import PASSWORD, own_charger
from tests.factories.tokens import TokenFactory
from tests.foreign.conftest import foreign, foreign_partner  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_charge_over_ocpp_ends_in_a_cdr_held_by_the_drivers_emsp(
    central_system,  # noqa: F811
    station,
    foreign,  # noqa: F811
    foreign_partner,  # noqa: F811
):
    foreign.endpoints = [*foreign.endpoints, *foreign_partner.endpoints("cdrs", role="RECEIVER")]
    foreign.save()
    party = foreign.parties.get(role="EMSP")
    token = TokenFactory(owner=party, country_code="DE", party_id="FOR", uid="04FOREIGN0001")
    # Its eMSP authorizes the driver in real time (it lists the token it answers with).
    foreign_partner.lists["tokens"] = [
        {
            "country_code": "DE",
            "party_id": "FOR",
            "uid": token.uid,
            "type": "RFID",
            "contract_id": token.contract_id,
            "issuer": "Foreign",
            "valid": True,
            "whitelist": "ALLOWED",
            "last_updated": "2026-03-01T00:00:00Z",
        }
    ]
    charger = own_charger(station, charge_point_id="CP-CDR-1")

    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot(firmware_version="2.0.7")
            await cp.status(1, "Available")
            cp.meter.energy_wh = 1_000_000
            started = await cp.start_transaction(
                1, "04FOREIGN0001", timestamp="2026-03-02T10:00:00Z"
            )
            tx = started.transaction_id
            cp.meter.energy_wh = 1_006_000
            await cp.meter_values(1, tx, power_w=11000, timestamp="2026-03-02T10:30:00Z")
            await cp.stop_transaction(tx, timestamp="2026-03-02T11:00:00Z")

    asyncio.run(scenario())
    cdr = Cdr.objects.get()
    outbox_deliver(connection_id=foreign.pk)

    # FLAT 1.00 + 6 kWh x 0.25 + 1 h x 2.00 = 4.50 excl. VAT, 5.40 incl. 20 % VAT.
    assert cdr.total_energy == Decimal("6.0000")
    assert cdr.total_time == Decimal("1")
    assert (cdr.total_fixed_cost_excl_vat, cdr.total_energy_cost_excl_vat) == (
        Decimal("1.0000"),
        Decimal("1.5000"),
    )
    assert cdr.total_time_cost_incl_vat == Decimal("2.4000")
    assert (cdr.total_cost_excl_vat, cdr.total_cost_incl_vat) == (
        Decimal("4.5000"),
        Decimal("5.4000"),
    )
    assert OutboxMessage.objects.get(module="cdrs").status == "delivered"
    held = foreign_partner.held["cdrs"][f"TR/ECH/{cdr.cdr_id}".upper()]
    assert held["total_cost"] == {"excl_vat": 4.5, "incl_vat": 5.4}
    assert held["cdr_token"]["uid"] == "04FOREIGN0001"
    cdr.refresh_from_db()
    assert cdr.location_header.startswith(foreign_partner.url)
