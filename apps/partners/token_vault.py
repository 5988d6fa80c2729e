"""Credentials tokens at rest: a keyed hash to find them, encryption where we need them back.

OCPI needs some tokens in clear again (the token we send; GET /credentials answers with the token
the partner must use, ocpi/ocpi#394), so those are Fernet-encrypted; lookups use HMAC-SHA256 so
a database dump reveals no usable token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _key(purpose: bytes) -> bytes:
    return hashlib.sha256(purpose + settings.OCPI_TOKEN_KEY.encode("utf-8")).digest()


def token_hash(token: str) -> str:
    """The keyed hash a token is looked up by."""
    return hmac.new(_key(b"hash:"), token.encode("utf-8"), hashlib.sha256).hexdigest()


def encrypt(token: str) -> str:
    return Fernet(base64.urlsafe_b64encode(_key(b"encrypt:"))).encrypt(token.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return Fernet(base64.urlsafe_b64encode(_key(b"encrypt:"))).decrypt(ciphertext).decode()
    except InvalidToken as exc:
        raise ValueError("Stored token cannot be decrypted (was OCPI_TOKEN_KEY changed?)") from exc


def new_token() -> str:
    """A fresh credentials token: 43 URL-safe characters, never valid standard Base64, never
    starting with '-'.

    The '-'/'_' alphabet and a length that is not a multiple of 4 keep an incoming raw token from
    being mistaken for a Base64-encoded one (OCPI 2.2.1 transport: raw-token peers). A leading
    '-' (1 token in 64) makes a command line read the token as an option (`ocpi_connect URL
    TOKEN_A`), so such draws are thrown away: the others stay uniformly random.
    """
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def mask(token: str) -> str:
    return token[:4] + "…" if token else ""
