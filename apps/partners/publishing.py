"""What the domain apps tell partners about the modules they send, so partners knows none of them.

Each app registers from its AppConfig.ready(), like `register_puller`:
- `register_initial_sync(module, batch, receiver_role=...)`: our whole current set of the
  module as one partner may see it, one batch at a time (the initial sync of a new
  connection, and the staff action that sends everything again);
- `register_current_document(module, render)`: the whole current object behind an outbox
  object key, for the PUT that replaces a PATCH the partner could not apply because it does
  not hold the object;
- `register_delivered(module, hook)`: told of each delivered message of the module with the
  partner's answer (the CDRs app keeps the `Location` header a CDR POST is answered with).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .models import OutboxMessage, PartnerConnection


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


# delivered(message, result) -> None: called in the transaction that marks the message
# delivered, with the partner's OcpiResult (its headers compare case-insensitively).
Delivered = Callable[[OutboxMessage, Any], None]

_initial_syncs: dict[str, InitialSyncSource] = {}
_current_documents: dict[str, CurrentDocument] = {}
_delivered: dict[str, Delivered] = {}


def register_initial_sync(module: str, batch: SetBatch, *, receiver_role: str) -> None:
    """Called from an app's AppConfig.ready(): how to list our current set of `module`."""
    _initial_syncs[module] = InitialSyncSource(module, batch, receiver_role)


def register_current_document(module: str, render: CurrentDocument) -> None:
    """Called from an app's AppConfig.ready(): how to render one current object of `module`."""
    _current_documents[module] = render


def register_delivered(module: str, hook: Delivered) -> None:
    """Called from an app's AppConfig.ready(): what to do with the answer to a delivered push."""
    _delivered[module] = hook


def delivered_hook(module: str) -> Delivered | None:
    return _delivered.get(module)


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
