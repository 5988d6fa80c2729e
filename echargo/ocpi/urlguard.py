"""Which partner URLs we are willing to call.

A partner hands us URLs (versions, endpoints) that our server then calls: without a guard a
registration could make us probe our own network (SSRF). Production allows only https to public
addresses; development and tests run partners on loopback and relax it through settings.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeUrl(ValueError):
    pass


def check_partner_url(url: str) -> None:
    """Raise UnsafeUrl unless the URL may be called under the current settings."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl(f"Not an http(s) URL: {url!r}")
    if settings.OCPI_REQUIRE_HTTPS and parts.scheme != "https":
        raise UnsafeUrl(f"Only https URLs are allowed: {url!r}")
    if settings.OCPI_ALLOW_PRIVATE_URLS:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"Cannot resolve {parts.hostname!r}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise UnsafeUrl(f"{parts.hostname!r} resolves to a non-public address {address}.")
