"""Our drivers' tokens published to partners: every CPO partner with a tokens Receiver takes
every token of our eMSP parties, through the outbox, in the transaction that changed the token."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from apps.partners.outbox import outbox_enqueue

from . import selectors
from .models import Token


def token_receiver_path(token: Token) -> str:
    """The token's URL tail at a CPO's tokens Receiver (the type rides in the query)."""
    path = f"{quote(token.country_code)}/{quote(token.party_id)}/{quote(token.uid, safe='')}"
    return path + f"?type={token.type}"


def token_push(token: Token, *, method: str, body: dict[str, Any]) -> int:
    """Queue `method` (PUT with the whole token, PATCH with a change) for every CPO partner; how
    many partners it was queued for."""
    path = token_receiver_path(token)
    connections = selectors.cpo_partners_taking_tokens()
    for connection in connections:
        outbox_enqueue(
            connection=connection,
            module="tokens",
            object_key=token.object_key,
            method=method,
            path=path,
            body=body,
        )
    return len(connections)
