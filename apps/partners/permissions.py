"""Which callers may use which OCPI interface."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from echargo.ocpi.routing import check_from_headers

from .authentication import PartnerCaller


def _caller(request: Request) -> PartnerCaller:
    caller = request.user
    if not isinstance(caller, PartnerCaller):
        raise NotAuthenticated("Authorization header with a credentials token is required.")
    return caller


class AllowRegistrationToken(BasePermission):
    """Versions and credentials: token A and registering connections are welcome."""

    def has_permission(self, request: Request, view: Any) -> bool:
        _caller(request)
        return True


class IsConnectedPartner(BasePermission):
    """Functional modules: a registered connection, speaking for one of its own parties."""

    def has_permission(self, request: Request, view: Any) -> bool:
        caller = _caller(request)
        if caller.registration_only:
            # OCPI 2.2.1 credentials: token A outside versions/credentials is a 401.
            raise AuthenticationFailed("This token only grants access to versions and credentials.")
        check_from_headers(request)
        return True
