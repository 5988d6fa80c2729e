"""What the domain apps tell partners about the modules they send, so partners knows none of them.

Each app registers from its AppConfig.ready(), like `register_puller`:
- `register_initial_sync(module, batch, receiver_role=...)`: our whole current set of the
  module as one partner may see it, one batch at a time (the initial sync of a new
  connection, and the staff action that sends everything again);
- `register_current_document(module, render)`: the whole current object behind an outbox
  object key, for the PUT that replaces a PATCH the partner could not apply because it does
  not hold the object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .models import PartnerConnection


@dataclass(frozen=True)
class Document:
    """One object as a PUT to the partner's Receiver carries it."""

    object_key: str  # the outbox key: country_code/party_id/id[/...] of the owner
    path: str  # appended to the partner's module URL
    body: Any


# batch(connection, after_pk, limit) -> up to `limit` (pk, Document) pairs with pk > after_pk,
# in pk order: what this partner may see, by the app's own visibility and push rules.
SetBatch = Callable[[PartnerConnection, int, int], list[tuple[int, Document]]]
# render(connection, object_key) -> the object's current Document, or None if it is gone or no
# longer for this partner.
CurrentDocument = Callable[[PartnerConnection, str], Document | None]


@dataclass(frozen=True)
class InitialSyncSource:
    module: str
    batch: SetBatch
    # The partner role whose Receiver takes the module: EMSP for locations, CPO for tokens.
    receiver_role: str


_initial_syncs: dict[str, InitialSyncSource] = {}
_current_documents: dict[str, CurrentDocument] = {}


def register_initial_sync(module: str, batch: SetBatch, *, receiver_role: str) -> None:
    """Called from an app's AppConfig.ready(): how to list our current set of `module`."""
    _initial_syncs[module] = InitialSyncSource(module, batch, receiver_role)


def register_current_document(module: str, render: CurrentDocument) -> None:
    """Called from an app's AppConfig.ready(): how to render one current object of `module`."""
    _current_documents[module] = render


def owner_and_rest(object_key: str) -> tuple[str, str, str]:
    """(country_code, party_id, the rest) of an outbox object key; "" for missing parts."""
    country_code, party_id, rest = [*object_key.split("/", 2), "", ""][:3]
    return country_code, party_id, rest


def initial_sync_source(module: str) -> InitialSyncSource | None:
    return _initial_syncs.get(module)


def initial_sync_modules() -> list[str]:
    return sorted(_initial_syncs)


def current_document(
    connection: PartnerConnection, module: str, object_key: str
) -> Document | None:
    render = _current_documents.get(module)
    return render(connection, object_key) if render else None
