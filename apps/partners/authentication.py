"""`Authorization: Token ...` -> the calling partner connection (OCPI 2.2.1 transport 4.1)."""

from __future__ import annotations

import base64
import binascii
from functools import cached_property

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from echargo.ocpi.routing import party_key

from .models import AccessToken, PartnerConnection
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
        hashes = [token_hash(candidate) for candidate in _candidates(value)]
        token = (
            AccessToken.objects.select_related("connection").filter(token_hash__in=hashes).first()
        )
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
