"""What partners may ask of our locations (apps.partners.publishing hooks): the whole set one
eMSP partner may see, for its initial sync, and one location's current document.

The set is the Sender's (`selectors.location_sender_list`): published locations, and unpublished
ones whose publish_allowed_to names one of the partner's parties (visibility.py). Documents
are the stored renders, as pushes send them.
"""

from __future__ import annotations

from apps.partners.models import PartnerConnection
from apps.partners.publishing import Document, owner_and_rest
from echargo.ocpi.routing import ci

from .models import Location
from .push import location_push_body
from .selectors import location_sender_list


def _document(location: Location) -> Document:
    return Document(
        object_key=location.ocpi_path, path=location.ocpi_path, body=location_push_body(location)
    )


def location_initial_sync_batch(
    connection: PartnerConnection, after: int, limit: int
) -> list[tuple[int, Document]]:
    locations = (
        location_sender_list(connection_id=connection.pk)
        .filter(pk__gt=after)
        .only("id", "country_code", "party_id", "location_id", "ocpi_json")
        .order_by("pk")[:limit]
    )
    return [(location.pk, _document(location)) for location in locations]


def location_current_document(connection: PartnerConnection, object_key: str) -> Document | None:
    """The whole location behind an outbox key CC/PID/ID (an EVSE's PATCH carries the same)."""
    country_code, party_id, location_id = owner_and_rest(object_key)
    location = Location.objects.filter(
        own_cpo=True,
        country_code=ci(country_code),
        party_id=ci(party_id),
        location_key=ci(location_id),
    ).first()
    return _document(location) if location else None
