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


class ConnectionNotFound(LookupError):
    """A connection reference matches no connection, or more than one; the message says which."""


def connection_by_reference(reference: str) -> PartnerConnection:
    """The connection an operator names: its id (`12` or `#12`) or its name, in any case.

    Raises ConnectionNotFound, with the connections that could be meant, when the reference
    matches none or more than one (a name made of digits can also be another one's id).
    """
    text = reference.strip()
    by_id = text[1:] if text.startswith("#") else text
    candidates = list(PartnerConnection.objects.filter(name__iexact=text)[:5])
    if by_id.isdigit():
        candidates += [
            c for c in PartnerConnection.objects.filter(pk=int(by_id)) if c not in candidates
        ]
        if text.startswith("#"):
            candidates = [c for c in candidates if c.pk == int(by_id)]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise ConnectionNotFound(
            f"{reference!r} is ambiguous: {_listed(candidates)}. Give '#<id>' of the one you mean."
        )
    known = list(PartnerConnection.objects.order_by("pk")[:10])
    raise ConnectionNotFound(
        f"No connection {reference!r}. "
        + (f"Known: {_listed(known)}." if known else "There are no connections yet.")
    )


def _listed(connections: list[PartnerConnection]) -> str:
    return ", ".join(f"#{c.pk} {c.name!r} ({c.status})" for c in connections)
