"""Who may touch which party's objects (OCPI 2.2.1 transport: client-owned object push).

The authenticated caller (provided by apps.partners) answers `represents(country_code,
party_id)`. CiString identifiers compare case-insensitively, so every key is normalised here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, cast

from rest_framework.request import Request

from . import headers as h
from .exceptions import InvalidParameters, OcpiError, UnknownObject


class OcpiCaller(Protocol):
    connection_id: int

    def represents(self, country_code: str, party_id: str) -> bool: ...

    def party_in_role(self, country_code: str, party_id: str, role: str) -> Any: ...


def caller_of(request: Request) -> OcpiCaller:
    """The authenticated partner connection of an OCPI request (DRF's `request.user`: the
    authentication class in apps.partners puts the caller there, never a Django user)."""
    return cast(OcpiCaller, request.user)


def ci(value: str) -> str:
    """The lookup form of a CiString: upper case."""
    return value.upper()


def party_key(country_code: str, party_id: str) -> tuple[str, str]:
    return ci(country_code), ci(party_id)


class ForeignParty(OcpiError):
    http_status = 403
    default_message = "The OCPI-from party is not registered for this credentials token."


def require_caller_party(request: Request, country_code: str, party_id: str) -> None:
    """Refuse (as unknown, HTTP 404) a URL party that the calling connection does not represent."""
    caller = caller_of(request)
    if not caller.represents(country_code, party_id):
        raise UnknownObject(f"Unknown party {country_code}*{party_id} for this connection.")


def to_party(request: Request) -> tuple[str, str] | None:
    """The party an OCPI-to-* header pair addresses (a platform hosting several parties serves
    that one only; OCPI 2.2.1 transport: message routing), or None when not both are sent."""
    country, party = request.headers.get(h.TO_COUNTRY), request.headers.get(h.TO_PARTY)
    return (country, party) if country and party else None


def check_from_headers(request: Request) -> None:
    """OCPI-from-* headers, when sent, must name a party of the calling connection."""
    country, party = request.headers.get(h.FROM_COUNTRY), request.headers.get(h.FROM_PARTY)
    if not country and not party:
        return
    if not (country and party):
        raise InvalidParameters("OCPI-from-country-code and OCPI-from-party-id come as a pair.")
    caller = caller_of(request)
    if not caller.represents(country, party):
        raise ForeignParty()


def check_body_owner(body: Mapping[str, Any], country_code: str, party_id: str) -> None:
    """The owner inside a pushed object must equal the owner in the URL (2001 otherwise)."""
    body_country, body_party = body.get("country_code"), body.get("party_id")
    if body_country is None and body_party is None:
        return
    if (
        not isinstance(body_country, str)
        or not isinstance(body_party, str)
        or party_key(body_country, body_party) != party_key(country_code, party_id)
    ):
        raise InvalidParameters("country_code/party_id in the body differ from the URL.")


def check_body_id(body: Mapping[str, Any], field: str, url_value: str) -> None:
    """The object id inside a pushed object must equal the id in the URL (2001 otherwise)."""
    value = body.get(field)
    if value is not None and (not isinstance(value, str) or ci(value) != ci(url_value)):
        raise InvalidParameters(f"{field} in the body differs from the URL.")
