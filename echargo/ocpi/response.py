"""The OCPI response envelope: data, status_code, status_message, timestamp."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from rest_framework.response import Response

from .fields import format_ocpi_datetime
from .status import DEFAULT_HTTP_STATUS, OcpiStatus

_OMIT = object()


def envelope(
    *, status_code: OcpiStatus = OcpiStatus.SUCCESS, message: str = "", data: Any = _OMIT
) -> dict[str, Any]:
    """Build the envelope dict; `data` is left out when not given (OCPI 2.2.1 d2 advice)."""
    body: dict[str, Any] = {}
    if data is not _OMIT:
        body["data"] = data
    body["status_code"] = int(status_code)
    if message:
        body["status_message"] = message
    body["timestamp"] = format_ocpi_datetime(timezone.now())
    return body


def ocpi_response(
    data: Any = _OMIT,
    *,
    status_code: OcpiStatus = OcpiStatus.SUCCESS,
    message: str = "",
    http_status: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A DRF Response carrying the OCPI envelope, with the HTTP status the code is paired with."""
    if http_status is None:
        http_status = DEFAULT_HTTP_STATUS[status_code]
    return Response(
        envelope(status_code=status_code, message=message, data=data),
        status=http_status,
        headers=headers,
    )


def stored_document_response(data_json: str, headers: dict[str, str] | None = None) -> HttpResponse:
    """The success envelope around `data` that is already JSON text: a stored OCPI document, or
    a list of them joined with commas, is served as it is stored, not parsed and serialised
    again (DESIGN.md: speed by design)."""
    rest = json.dumps(envelope(), separators=(",", ":"))
    return HttpResponse(
        '{"data":' + data_json + "," + rest[1:],
        content_type="application/json",
        headers=headers,
    )


def stored_list_response(
    documents: list[str], headers: dict[str, str] | None = None
) -> HttpResponse:
    """`stored_document_response` for a page of stored documents."""
    return stored_document_response("[" + ",".join(documents) + "]", headers)
