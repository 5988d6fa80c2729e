"""Reads about parties and connections that every domain app needs."""

from __future__ import annotations

from echargo.ocpi.exceptions import UnknownObject
from echargo.ocpi.routing import ci

from .models import PartnerConnection, Party


def connection_party(
    *, connection: PartnerConnection, country_code: str, party_id: str, role: str
) -> Party | None:
    """The party of this connection with that role named in a URL or object, or None.

    A partner only ever writes objects of the parties it registered, in the matching role
    (tokens for its eMSPs, locations and tariffs for its CPOs).
    """
    return Party.objects.filter(
        connection=connection, country_code=ci(country_code), party_id=ci(party_id), role=role
    ).first()


def connection_party_or_unknown(
    *, connection: PartnerConnection, country_code: str, party_id: str, role: str
) -> Party:
    """The party a receiver URL names, as `connection_party`; UnknownObject (HTTP 404) when the
    calling connection carries no such party in that role (OCPI 2.2.1 client-owned objects:
    a partner only ever touches its own parties' objects)."""
    party = connection_party(
        connection=connection, country_code=country_code, party_id=party_id, role=role
    )
    if party is None:
        raise UnknownObject(f"Unknown {role} party {country_code}*{party_id} for this connection.")
    return party
