"""What partners may ask of our tariffs (apps.partners.publishing hooks): the whole set for an
eMSP partner's initial sync, and one tariff's current document.

Every eMSP partner with a tariffs Receiver takes every tariff of our CPO parties (the push rule
of `push.tariff_push`), so the set is the same for each.
"""

from __future__ import annotations

from django.db.models import QuerySet

from apps.partners.models import PartnerConnection
from apps.partners.publishing import Document, owner_and_rest
from echargo.ocpi.wire import ocpi_loads

from . import selectors
from .models import Tariff
from .push import tariff_receiver_path


def _document(tariff: Tariff) -> Document:
    owner = tariff.owner
    return Document(
        object_key=tariff.object_key,
        path=tariff_receiver_path(owner.country_code, owner.party_id, tariff.tariff_id),
        body=ocpi_loads(tariff.ocpi_json),
    )


def _own() -> QuerySet[Tariff]:
    return (
        selectors.tariff_list_own()
        .select_related("owner")
        .only("id", "tariff_id", "ocpi_json", "owner__country_code", "owner__party_id")
    )


def tariff_initial_sync_batch(
    connection: PartnerConnection, after: int, limit: int
) -> list[tuple[int, Document]]:
    tariffs = _own().filter(pk__gt=after).order_by("pk")[:limit]
    return [(tariff.pk, _document(tariff)) for tariff in tariffs]


def tariff_current_document(connection: PartnerConnection, object_key: str) -> Document | None:
    country_code, party_id, tariff_id = owner_and_rest(object_key)
    tariff = (
        _own()
        .filter(
            owner__country_code=country_code,
            owner__party_id=party_id,
            tariff_id_key=tariff_id.upper(),
        )
        .first()
    )
    return _document(tariff) if tariff else None
