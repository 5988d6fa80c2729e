"""The endpoints we implement, announced in our version details.

Each app registers its own modules from its AppConfig.ready(); the protocol layer only lists
them. Credentials is announced once, as SENDER (OCPI 2.2.1 d2 advice).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

SENDER = "SENDER"
RECEIVER = "RECEIVER"

VERSION = "2.2.1"
SUPPORTED_VERSIONS = (VERSION,)


@dataclass(frozen=True)
class Endpoint:
    identifier: str
    role: str
    url_name: str

    def url(self) -> str:
        return public_url(reverse(self.url_name))


_endpoints: dict[tuple[str, str], Endpoint] = {}


def register_endpoint(identifier: str, role: str, url_name: str) -> None:
    """Announce a module interface; registering the same (identifier, role) twice replaces it."""
    _endpoints[(identifier, role)] = Endpoint(identifier, role, url_name)


def endpoints() -> list[Endpoint]:
    return sorted(_endpoints.values(), key=lambda e: (e.identifier, e.role))


def public_url(path: str) -> str:
    """An absolute URL on the public base URL partners reach us at, without trailing slash."""
    return settings.OCPI_BASE_URL + path.rstrip("/")


def versions_url() -> str:
    return public_url(reverse("ocpi-versions"))
