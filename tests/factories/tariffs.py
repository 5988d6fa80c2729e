"""Tariffs valid on the OCPI 2.2.1 wire by default, and the services that store them.

Tariff rows are written only by the services (they render the stored OCPI document and push),
so the factories build OCPI Tariff JSON and hand it to a service.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory

from apps.partners.models import Party
from apps.tariffs.models import Tariff
from apps.tariffs.services import tariff_put_from_partner, tariff_upsert_own
from apps.tariffs.wire import TariffSerializer


class PriceComponentData(factory.DictFactory):
    type = "ENERGY"
    price = Decimal("0.25")
    vat = Decimal("20")
    step_size = 1


class TariffElementData(factory.DictFactory):
    price_components = factory.List([factory.SubFactory(PriceComponentData)])


class TariffData(factory.DictFactory):
    """An OCPI Tariff object: 0.25 per kWh, 20 % VAT, in Turkish lira."""

    country_code = "TR"
    party_id = "ECH"
    id = factory.Sequence(lambda n: f"TARIFF-{n:04d}")
    currency = "TRY"
    elements = factory.List([factory.SubFactory(TariffElementData)])
    last_updated = "2026-01-01T00:00:00Z"


def own_tariff(owner: Party | None = None, **data: Any) -> Tariff:
    """One of our tariffs, stored and pushed through `tariff_upsert_own`."""
    body = TariffData(**data)
    body.pop("last_updated")
    if owner is not None:
        body["country_code"], body["party_id"] = owner.country_code, owner.party_id
    return tariff_upsert_own(data=body, owner=owner, reason="test set-up").obj


def partner_tariff(owner: Party, **data: Any) -> Tariff:
    """A partner CPO's tariff as if it had PUT it to our Receiver."""
    body = TariffData(country_code=owner.country_code, party_id=owner.party_id, **data)
    serializer = TariffSerializer(data=body)
    serializer.is_valid(raise_exception=True)
    return tariff_put_from_partner(owner=owner, data=serializer.validated_data).obj
