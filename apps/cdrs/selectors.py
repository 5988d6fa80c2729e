"""CDR reads: the sender list a partner eMSP may see, and one stored partner CDR."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.partners.models import PartnerConnection, Party, Role

from .models import Cdr


def cdr_sender_list(*, connection: PartnerConnection) -> QuerySet[Cdr]:
    """Our CDRs (we are the CPO) of the tokens of the connection's eMSP parties only: a
    partner never sees another eMSP's drivers' CDRs (DESIGN.md: data ownership)."""
    parties = list(
        connection.parties.filter(role=Role.EMSP).values_list("country_code", "party_id")
    )
    if not parties:
        return Cdr.objects.none()
    match = Q()
    for country_code, party_id in parties:
        match |= Q(token_country_code=country_code, token_party_id=party_id)
    return Cdr.objects.filter(match, received_from__isnull=True, owner__is_own=True).only(
        "pk", "last_updated", "ocpi_json"
    )


def cdr_of_partner(*, owner: Party, cdr_id: str) -> Cdr | None:
    """A partner CPO's CDR as stored on our eMSP side."""
    return Cdr.objects.filter(
        owner=owner, cdr_key=cdr_id.upper(), received_from__isnull=False
    ).first()
