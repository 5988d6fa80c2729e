"""`Authorization: Token ...` -> the calling partner connection (OCPI 2.2.1 transport 4.1)."""

from __future__ import annotations

import base64
import binascii
from functools import cache, cached_property

from django.db import connection as db_connection
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from echargo.db.sql_rows import RowReader, instances_from_row
from echargo.ocpi.routing import party_key

from .models import AccessToken, PartnerConnection, Party
from .selectors import connection_party_or_unknown
from .token_vault import token_hash


class PartnerCaller:
    """The authenticated side of an OCPI request: a connection and the token it used."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, token: AccessToken) -> None:
        self.token = token
        self.connection: PartnerConnection = token.connection
        self.connection_id = token.connection_id

    def __str__(self) -> str:
        return f"partner {self.connection.name}"

    @property
    def registration_only(self) -> bool:
        """Token A, or a token of a connection still registering: versions and credentials only."""
        return (
            self.token.kind == AccessToken.Kind.REGISTRATION
            or self.connection.status != PartnerConnection.Status.CONNECTED
        )

    @cached_property
    def party_keys(self) -> frozenset[tuple[str, str]]:
        return frozenset(
            party_key(cc, pid)
            for cc, pid in self.connection.parties.values_list("country_code", "party_id")
        )

    def represents(self, country_code: str, party_id: str) -> bool:
        return party_key(country_code, party_id) in self.party_keys

    def party_in_role(self, country_code: str, party_id: str, role: str) -> Party:
        """The connection's party in `role` a receiver URL names (echargo.ocpi.receiver
        `owner_of_url`); UnknownObject (HTTP 404) when it carries none."""
        return connection_party_or_unknown(
            connection=self.connection, country_code=country_code, party_id=party_id, role=role
        )


def _candidates(value: str) -> list[str]:
    """The token as OCPI 2.2.1 sends it (Base64), then as older peers send it (raw)."""
    candidates = []
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        decoded = ""
    if decoded and decoded.isprintable() and not any(c.isspace() for c in decoded):
        candidates.append(decoded)
    candidates.append(value)
    return candidates


# What a request needs of the token; the hash and the encrypted token are left deferred.
_TOKEN_FIELDS = ("id", "connection_id", "kind", "expires_at")


@cache
def _token_lookup() -> tuple[str, RowReader, RowReader]:
    """The lookup SQL and the readers of its columns: the token's, then its connection's."""
    token = RowReader(
        AccessToken, [f for f in AccessToken._meta.concrete_fields if f.attname in _TOKEN_FIELDS]
    )
    connection = RowReader(PartnerConnection)
    # Only model metadata goes into the string; the token hashes are bound parameters.
    sql = (
        f"SELECT {token.select_list('t')}, {connection.select_list('c')}"  # noqa: S608
        f' FROM "{AccessToken._meta.db_table}" t'
        f' JOIN "{PartnerConnection._meta.db_table}" c ON c.id = t.connection_id'
        " WHERE t.token_hash IN (%s, %s) ORDER BY t.created_at DESC, t.id DESC LIMIT 1"
    )
    return sql, token, connection


def _token_with_connection(hashes: list[str]) -> AccessToken | None:
    """The token whose hash is one of `hashes` (one or two), its connection loaded.

    Every partner request runs it: written as SQL because compiling the equivalent
    select_related queryset cost four times the query itself.
    """
    sql, *readers = _token_lookup()
    with db_connection.cursor() as cursor:
        cursor.execute(sql, (hashes * 2)[:2])  # one statement shape for one or two candidates
        row = cursor.fetchone()
    if row is None:
        return None
    token, token.connection = instances_from_row(readers, row)
    return token


class OcpiTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[PartnerCaller, AccessToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        keyword, _, value = header.partition(" ")
        value = value.strip()
        if keyword.lower() != "token" or not value or len(value) > 200:
            raise AuthenticationFailed("Malformed Authorization header, expected 'Token <token>'.")
        token = _token_with_connection([token_hash(c) for c in _candidates(value)])
        if token is None:
            raise AuthenticationFailed("Unknown credentials token.")
        if token.expires_at is not None and token.expires_at <= timezone.now():
            raise AuthenticationFailed("Credentials token expired.")
        if token.connection.status in (
            PartnerConnection.Status.SUSPENDED,
            PartnerConnection.Status.UNREGISTERED,
        ):
            raise AuthenticationFailed("Connection is not active.")
        return PartnerCaller(token), token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when the header is missing.
        return self.keyword


def caller_of(request: Request) -> PartnerCaller:
    return request.user  # type: ignore[return-value]
