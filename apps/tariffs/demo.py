"""Demo tariffs of our own CPO, in Turkish lira (for `manage.py seed_demo`).

The demo stations' connectors name them in `tariff_ids`: AC pays per kWh, DC per kWh plus
parking time (the time the car stays plugged in without charging).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.partners.models import Party

from . import selectors
from .services import tariff_upsert_own

VAT = Decimal("20.0")  # Turkish KDV on charging


def _energy(price: str) -> dict[str, Any]:
    return {"type": "ENERGY", "price": Decimal(price), "vat": VAT, "step_size": 1}


def _tariff(tariff_id: str, tr: str, en: str, components: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": tariff_id,
        "currency": "TRY",
        "type": "REGULAR",
        "tariff_alt_text": [{"language": "tr", "text": tr}, {"language": "en", "text": en}],
        "elements": [{"price_components": components}],
    }


AC = _tariff(
    "TR-AC-STANDARD",
    "AC şarj: 8,50 TL/kWh (KDV hariç)",
    "AC charging: TRY 8.50 per kWh excl. VAT",
    [_energy("8.50")],
)
# Parking time: per minute after charging stops, so a full car frees the fast charger.
DC_PARKING = {"type": "PARKING_TIME", "price": Decimal("90.00"), "vat": VAT, "step_size": 60}
DC_LAUNCH = _tariff(
    "TR-DC-FAST",
    "DC hızlı şarj: 10,90 TL/kWh, şarj bitince park 90 TL/saat (KDV hariç)",
    "DC fast charging: TRY 10.90 per kWh, parking after charging TRY 90 per hour excl. VAT",
    [_energy("10.90"), DC_PARKING],
)
DC = _tariff(
    "TR-DC-FAST",
    "DC hızlı şarj: 11,90 TL/kWh, şarj bitince park 90 TL/saat (KDV hariç)",
    "DC fast charging: TRY 11.90 per kWh, parking after charging TRY 90 per hour excl. VAT",
    [_energy("11.90"), DC_PARKING],
)


def demo_tariffs_seed(*, owner: Party) -> int:
    """Create the demo tariffs we do not have yet (existing ones, maybe edited, stay).

    The DC tariff is created at its launch price and then raised once, so that its history and
    the audit trail show a change, as staff would make one.
    """
    created = 0
    for versions in ([AC], [DC_LAUNCH, DC]):
        if selectors.tariff_of_owner(owner=owner, tariff_id=versions[0]["id"]) is not None:
            continue
        tariff_upsert_own(data=versions[0], owner=owner, reason="Demo data")
        for later in versions[1:]:
            tariff_upsert_own(
                data=later, owner=owner, reason="Demo: DC price raised with the energy costs"
            )
        created += 1
    return created
