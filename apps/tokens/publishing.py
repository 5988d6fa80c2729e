"""What partners may ask of our drivers' tokens (apps.partners.publishing hooks): the whole set
for a CPO partner's initial sync, and one token's current document for a PATCH it lacked.

Every CPO partner with a tokens Receiver takes every token of our eMSP parties (the push rule
of `push.token_push`), so the set is the same for each.
"""

from __future__ import annotations

from apps.partners.models import PartnerConnection
from apps.partners.publishing import Document, owner_and_rest

from . import selectors
from .models import Token
from .push import token_receiver_path
from .wire import token_to_ocpi


def _document(token: Token) -> Document:
    return Document(
        object_key=token.object_key, path=token_receiver_path(token), body=token_to_ocpi(token)
    )


def token_initial_sync_batch(
    connection: PartnerConnection, after: int, limit: int
) -> list[tuple[int, Document]]:
    tokens = selectors.token_list_own().filter(pk__gt=after).select_related("owner")
    return [(token.pk, _document(token)) for token in tokens.order_by("pk")[:limit]]


def token_current_document(connection: PartnerConnection, object_key: str) -> Document | None:
    country_code, party_id, rest = owner_and_rest(object_key)
    uid, _, type_ = rest.rpartition("/")  # the type never holds a slash; a uid might
    token = (
        selectors.token_list_own()
        .filter(country_code=country_code, party_id=party_id, uid_key=uid.upper(), type=type_)
        .select_related("owner")
        .first()
    )
    return _document(token) if token else None
