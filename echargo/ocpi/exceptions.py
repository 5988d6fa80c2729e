"""OCPI errors, and the DRF exception handler that answers every error with the envelope."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from .response import ocpi_response
from .status import DEFAULT_HTTP_STATUS, OcpiStatus

logger = logging.getLogger(__name__)


class OcpiError(Exception):
    """A failure to answer with an OCPI status code (and, where the spec says so, an HTTP one)."""

    status_code = OcpiStatus.CLIENT_ERROR
    http_status: int | None = None
    default_message = "Client error."

    def __init__(
        self,
        message: str = "",
        *,
        status_code: OcpiStatus | None = None,
        http_status: int | None = None,
    ) -> None:
        self.message = message or self.default_message
        if status_code is not None:
            self.status_code = status_code
        if http_status is not None:
            self.http_status = http_status
        super().__init__(self.message)

    @property
    def resolved_http_status(self) -> int:
        return self.http_status or DEFAULT_HTTP_STATUS[self.status_code]


class InvalidParameters(OcpiError):
    status_code = OcpiStatus.INVALID_PARAMETERS
    default_message = "Invalid or missing parameters."


class NotEnoughInformation(OcpiError):
    status_code = OcpiStatus.NOT_ENOUGH_INFORMATION
    default_message = "Not enough information."


class UnknownObject(OcpiError):
    """GET of something we do not hold (or that belongs to a party the caller is not)."""

    status_code = OcpiStatus.CLIENT_ERROR
    http_status = 404
    default_message = "Unknown object."


class UnableToUseClientApi(OcpiError):
    status_code = OcpiStatus.UNABLE_TO_USE_CLIENT_API
    default_message = "Unable to use the client's API."


class UnsupportedVersion(OcpiError):
    status_code = OcpiStatus.UNSUPPORTED_VERSION
    default_message = "No mutually supported OCPI version."


class NoMatchingEndpoints(OcpiError):
    status_code = OcpiStatus.NO_MATCHING_ENDPOINTS
    default_message = "No matching endpoints."


def _validation_message(detail: Any, prefix: str = "") -> str:
    """Flatten DRF validation details into 'field: problem; field.sub: problem'."""
    if isinstance(detail, dict):
        parts = [
            _validation_message(v, f"{prefix}{k}." if k != "non_field_errors" else prefix)
            for k, v in detail.items()
        ]
        return "; ".join(p for p in parts if p)
    if isinstance(detail, list):
        return "; ".join(_validation_message(v, prefix) for v in detail)
    return f"{prefix.rstrip('.')}: {detail}" if prefix else str(detail)


def ocpi_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Answer every exception raised under the OCPI API with the envelope, never HTML."""
    if isinstance(exc, OcpiError):
        return ocpi_response(
            status_code=exc.status_code, message=exc.message, http_status=exc.resolved_http_status
        )
    if isinstance(exc, drf.ValidationError):
        return ocpi_response(
            status_code=OcpiStatus.INVALID_PARAMETERS, message=_validation_message(exc.detail)
        )
    if isinstance(exc, drf.ParseError):
        # OCPI transport: a body that is not JSON is an HTTP 400.
        return ocpi_response(
            status_code=OcpiStatus.INVALID_PARAMETERS, message=str(exc.detail), http_status=400
        )
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return ocpi_response(
            status_code=OcpiStatus.CLIENT_ERROR,
            message=str(exc.detail),
            http_status=401,
            headers={"WWW-Authenticate": "Token"},
        )
    if isinstance(exc, Http404 | drf.NotFound):
        return ocpi_response(
            status_code=OcpiStatus.CLIENT_ERROR, message="Unknown object.", http_status=404
        )
    if isinstance(exc, PermissionDenied | drf.PermissionDenied):
        return ocpi_response(
            status_code=OcpiStatus.CLIENT_ERROR, message="Forbidden.", http_status=403
        )
    if isinstance(exc, drf.APIException):
        return ocpi_response(
            status_code=OcpiStatus.CLIENT_ERROR
            if exc.status_code < 500
            else OcpiStatus.SERVER_ERROR,
            message=str(exc.detail),
            http_status=exc.status_code,
        )
    logger.exception("Unhandled error in OCPI view", exc_info=exc)
    return ocpi_response(status_code=OcpiStatus.SERVER_ERROR, message="Internal server error.")
