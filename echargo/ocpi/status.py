"""OCPI 2.2.1 status codes (status_codes.asciidoc) and the HTTP status each is paired with."""

from __future__ import annotations

from enum import IntEnum


class OcpiStatus(IntEnum):
    SUCCESS = 1000

    CLIENT_ERROR = 2000
    INVALID_PARAMETERS = 2001
    NOT_ENOUGH_INFORMATION = 2002
    UNKNOWN_LOCATION = 2003
    UNKNOWN_TOKEN = 2004

    SERVER_ERROR = 3000
    UNABLE_TO_USE_CLIENT_API = 3001
    UNSUPPORTED_VERSION = 3002
    NO_MATCHING_ENDPOINTS = 3003

    HUB_ERROR = 4000
    UNKNOWN_RECEIVER = 4001
    HUB_TIMEOUT = 4002
    HUB_CONNECTION_PROBLEM = 4003

    @property
    def is_success(self) -> bool:
        return 1000 <= self.value < 2000


# A request that reached the OCPI layer (valid JSON, authenticated, existing resource) is answered
# with HTTP 200 and the problem in status_code; the spec reserves HTTP errors for the transport.
# Server-side failures still answer 5xx so that proxies and monitors notice them.
DEFAULT_HTTP_STATUS: dict[OcpiStatus, int] = {
    OcpiStatus.SUCCESS: 200,
    OcpiStatus.CLIENT_ERROR: 200,
    OcpiStatus.INVALID_PARAMETERS: 200,
    OcpiStatus.NOT_ENOUGH_INFORMATION: 200,
    OcpiStatus.UNKNOWN_LOCATION: 200,
    OcpiStatus.UNKNOWN_TOKEN: 200,
    OcpiStatus.SERVER_ERROR: 500,
    OcpiStatus.UNABLE_TO_USE_CLIENT_API: 200,
    OcpiStatus.UNSUPPORTED_VERSION: 200,
    OcpiStatus.NO_MATCHING_ENDPOINTS: 200,
    OcpiStatus.HUB_ERROR: 200,
    OcpiStatus.UNKNOWN_RECEIVER: 200,
    OcpiStatus.HUB_TIMEOUT: 200,
    OcpiStatus.HUB_CONNECTION_PROBLEM: 200,
}
