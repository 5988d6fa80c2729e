"""Tariff reads: the list our CPO side serves, partner lookups, and who takes our pushes."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from apps.partners.models import PartnerConnection, Party, Role
from apps.partners.selectors import connection_party
from echargo.ocpi.routing import ci

from .models import Tariff, TariffElement


def tariff_list_own(*, owner: Party | None = None) -> QuerySet[Tariff]:
    """Tariffs of the CPO parties we host (what our tariffs Sender interface serves).

    Only the stored document is loaded: pages never touch the element rows.
    """
    queryset = Tariff.objects.filter(owner__is_own=True, owner__role=Role.CPO)
    if owner is not None:
        queryset = queryset.filter(owner=owner)
    return queryset.only("id", "last_updated", "ocpi_json")


def tariff_own_party(*, country_code: str, party_id: str) -> Party | None:
    """The CPO party we host under this country_code/party_id, if any."""
    return Party.objects.filter(
        is_own=True, role=Role.CPO, country_code=ci(country_code), party_id=ci(party_id)
    ).first()


def tariff_partner_cpo(
    *, connection: PartnerConnection, country_code: str, party_id: str
) -> Party | None:
    """The CPO party of this connection named in a URL or a pulled object, or None."""
    return connection_party(
        connection=connection, country_code=country_code, party_id=party_id, role=Role.CPO
    )


def tariff_of_owner(*, owner: Party, tariff_id: str) -> Tariff | None:
    """One tariff by owner and id (case-insensitive)."""
    return Tariff.objects.filter(owner=owner, tariff_id_key=ci(tariff_id)).first()


def tariff_with_rows(queryset: QuerySet[Tariff] | None = None) -> QuerySet[Tariff]:
    """Tariffs with owner, elements, components and restrictions loaded in four queries."""
    queryset = Tariff.objects.all() if queryset is None else queryset
    return queryset.select_related("owner").prefetch_related(
        Prefetch(
            "elements",
            queryset=TariffElement.objects.select_related("restrictions").prefetch_related(
                "price_components"
            ),
        )
    )


def tariff_push_connections() -> list[PartnerConnection]:
    """Connected eMSP partners that announce a tariffs Receiver: they take our tariff pushes."""
    connections = PartnerConnection.objects.filter(
        status=PartnerConnection.Status.CONNECTED, parties__role=Role.EMSP
    ).distinct()
    return [c for c in connections if c.endpoint_url("tariffs", "RECEIVER")]
