"""The OCPI client for calls to one partner, with the token that partner issued us.

Its own module because the handshake (services.py), the outbox and the pulls all call partners,
and the handshake also starts the initial sync, which uses the outbox: with the client in
services.py those three imported each other in a circle.
"""

from __future__ import annotations

from typing import Any

from echargo.ocpi.client import OcpiClient

from . import token_vault
from .models import PartnerConnection


class NoTokenToCallWith(Exception):
    """We hold no token of this partner's: the handshake has not reached it, or it ended."""


def connection_client(connection: PartnerConnection, token: str, **options: Any) -> OcpiClient:
    """An OCPI client for this connection with an explicit `token` (the handshake's token A)."""
    return OcpiClient(
        token, encoding=connection.auth_encoding, connection_id=connection.pk, **options
    )


def outgoing_token(connection: PartnerConnection) -> str:
    """The token the partner issued us, for calls to it."""
    if not connection.outgoing_token_encrypted:
        raise NoTokenToCallWith(f"{connection} holds no token to call the partner with.")
    return token_vault.decrypt(connection.outgoing_token_encrypted)


def partner_client(connection: PartnerConnection, **options: Any) -> OcpiClient:
    """An OCPI client that calls this partner with the token it issued us.

    `options` go to OcpiClient (from_party/to_party routing headers, timeout, retries).
    """
    return connection_client(connection, outgoing_token(connection), **options)
