"""What partners' registries ask of our sessions (apps.partners.publishing): one session's current
document, for the outbox's PUT when a partner answered a PATCH with "unknown object"."""

from __future__ import annotations

from apps.partners.models import PartnerConnection
from apps.partners.publishing import Document, owner_and_rest
from echargo.ocpi.routing import ci

from .models import Session
from .push import session_receiver_path
from .wire import session_document


def session_current_document(connection: PartnerConnection, object_key: str) -> Document | None:
    country_code, party_id, session_id = owner_and_rest(object_key)
    session = Session.objects.filter(
        owner__is_own=True,
        country_code=ci(country_code),
        party_id=ci(party_id),
        session_key=ci(session_id),
    ).first()
    if session is None:
        return None
    path = session_receiver_path(session)
    return Document(object_key=path, path=path, body=session_document(session))
