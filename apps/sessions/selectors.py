"""Reads of sessions: what our CPO Sender lists to whom, and partners' sessions as we hold them."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.partners.models import Party, Role
from echargo.ocpi.routing import ci

from .models import Session


def session_sender_list(*, connection_id: int) -> QuerySet[Session]:
    """Our sessions whose token belongs to one of the calling connection's eMSP parties: a
    partner sees its own drivers' sessions only (DESIGN.md: data ownership)."""
    parties = Party.objects.filter(connection_id=connection_id, role=Role.EMSP, is_own=False)
    match = Q(pk__in=[])
    for country_code, party_id in parties.values_list("country_code", "party_id"):
        match |= Q(token_country_code=country_code, token_party_id=party_id)
    return Session.objects.filter(owner__is_own=True).filter(match)


def session_of_owner(*, owner: Party, session_id: str) -> Session | None:
    """A partner CPO's session as we hold it (the receiver GET)."""
    return Session.objects.filter(
        country_code=owner.country_code, party_id=owner.party_id, session_key=ci(session_id)
    ).first()


def session_own(*, session_id: str, connection_id: int) -> Session | None:
    """One of our sessions, when the calling connection may see it (charging preferences)."""
    return (
        session_sender_list(connection_id=connection_id).filter(session_key=ci(session_id)).first()
    )
