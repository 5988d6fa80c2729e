"""Everything under /ocpi/ gets message ids, routing headers, the envelope, and a log entry."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from . import headers as h
from .exchange import INBOUND, Exchange, body_text, ocpi_status_of, report_exchange
from .response import envelope
from .status import OcpiStatus

logger = logging.getLogger(__name__)

OCPI_PREFIX = "/ocpi/"


def is_ocpi_path(path_info: str) -> bool:
    """Whether a request (its path below the script prefix) is a partner's OCPI call."""
    return path_info.startswith(OCPI_PREFIX) or path_info == OCPI_PREFIX.rstrip("/")


def _header_id(request: HttpRequest, name: str) -> str:
    value = request.headers.get(name, "").strip()
    # Echo what the caller sent when it is sane; a new UUID otherwise (OCPI 2.2.1 transport 4.3).
    return value[:100] if value and value.isprintable() else str(uuid.uuid4())


def envelope_response(status_code: OcpiStatus, message: str, http_status: int) -> JsonResponse:
    return JsonResponse(envelope(status_code=status_code, message=message), status=http_status)


class OcpiHttpRequest(HttpRequest):
    """What the middleware adds to a request under /ocpi/ (for typing: requests are cast)."""

    ocpi_request_id: str
    ocpi_correlation_id: str
    ocpi_module: str


class OcpiExchangeMiddleware:
    """Wraps OCPI requests: ids in and out, errors as envelopes, every exchange reported."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, http_request: HttpRequest) -> HttpResponse:
        if not is_ocpi_path(http_request.path_info):
            return self.get_response(http_request)
        request = cast(OcpiHttpRequest, http_request)

        started_at = timezone.now()
        start = time.perf_counter()
        request.ocpi_request_id = _header_id(request, h.REQUEST_ID)
        request.ocpi_correlation_id = _header_id(request, h.CORRELATION_ID)
        request.ocpi_module = ""
        try:
            # Read the body now so the log has it even when the view fails to parse it.
            request_body = request.body
        except RequestDataTooBig:
            request_body = b""
            response: HttpResponse = envelope_response(
                OcpiStatus.CLIENT_ERROR, "Request body too large.", 413
            )
        else:
            response = self.get_response(request)

        response = self._ensure_envelope(response)
        self._set_headers(request, response)
        exchange = self._exchange(
            request, response, request_body, started_at, time.perf_counter() - start
        )
        # Written when the server closes the response, after the bytes went out: the partner
        # (a charger waiting on an authorization) does not wait for the log insert.
        response._resource_closers.append(  # type: ignore[attr-defined]
            lambda: report_exchange(exchange)
        )
        return response

    def process_view(self, http_request: HttpRequest, view_func: Any, *args: Any) -> None:
        view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
        cast(OcpiHttpRequest, http_request).ocpi_module = (
            getattr(view_class, "ocpi_module", "") or ""
        )

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_ocpi_path(request.path_info):
            return None
        logger.exception("Unhandled error under /ocpi/", exc_info=exception)
        return envelope_response(OcpiStatus.SERVER_ERROR, "Internal server error.", 500)

    @staticmethod
    def _ensure_envelope(response: HttpResponse) -> HttpResponse:
        """Replace a non-JSON answer (Django's HTML 404/400/500 pages) by an OCPI envelope."""
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        if response.status_code < 400:
            return response
        code = OcpiStatus.SERVER_ERROR if response.status_code >= 500 else OcpiStatus.CLIENT_ERROR
        message = {404: "Unknown route.", 405: "Method not allowed."}.get(
            response.status_code, "Request failed."
        )
        return envelope_response(code, message, response.status_code)

    @staticmethod
    def _set_headers(request: OcpiHttpRequest, response: HttpResponse) -> None:
        if not response.streaming and not response.has_header("Content-Length"):
            # Django's CommonMiddleware, which sets it, runs for staff pages only: without it
            # the server sends OCPI answers chunked, which costs partners and us more per call.
            response["Content-Length"] = str(len(response.content))
        response[h.REQUEST_ID] = request.ocpi_request_id
        response[h.CORRELATION_ID] = request.ocpi_correlation_id
        # Routing headers on a response point back: to = the requester, from = the addressed party
        # (OCPI 2.2.1 transport: message routing, direct communication).
        from_country, from_party = (
            request.headers.get(h.FROM_COUNTRY),
            request.headers.get(h.FROM_PARTY),
        )
        to_country, to_party = request.headers.get(h.TO_COUNTRY), request.headers.get(h.TO_PARTY)
        if from_country and from_party and h.TO_COUNTRY not in response:
            response[h.TO_COUNTRY], response[h.TO_PARTY] = from_country[:2], from_party[:3]
        if to_country and to_party and h.FROM_COUNTRY not in response:
            response[h.FROM_COUNTRY], response[h.FROM_PARTY] = to_country[:2], to_party[:3]

    @staticmethod
    def _exchange(
        request: OcpiHttpRequest,
        response: HttpResponse,
        request_body: bytes,
        started_at: Any,
        seconds: float,
    ) -> Exchange:
        content = b"" if getattr(response, "streaming", False) else response.content
        user = getattr(request, "user", None)
        return Exchange(
            direction=INBOUND,
            method=request.method or "",
            url=request.get_full_path()[:2000],
            started_at=started_at,
            duration_ms=round(seconds * 1000, 3),
            http_status=response.status_code,
            ocpi_status_code=ocpi_status_of(content),
            request_id=request.ocpi_request_id,
            correlation_id=request.ocpi_correlation_id,
            module=request.ocpi_module,
            connection_id=getattr(user, "connection_id", None),
            request_body=body_text(request_body, settings.OCPI_EXCHANGE_LOG_MAX_REQUEST_BODY),
            response_body=body_text(content, settings.OCPI_EXCHANGE_LOG_MAX_RESPONSE_BODY),
        )
