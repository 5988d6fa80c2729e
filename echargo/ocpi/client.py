"""The one outgoing OCPI client: every call to a partner goes through here.

One requests.Session per client with the credentials token header, OCPI message-id and routing
headers, a (connect, read) timeout on every call, urllib3 retries with backoff for idempotent
methods only (POST/PATCH retries belong to the outbox task), a response size cap, Link-header
pagination, and a report of each exchange to the exchange log.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.util.retry import Retry

from . import headers as h
from .exchange import OUTBOUND, Exchange, body_text, ocpi_status_of, report_exchange
from .urlguard import UnsafeUrl, check_partner_url

BASE64 = "base64"
RAW = "raw"


class OcpiClientError(Exception):
    """A partner call failed: transport, HTTP status, no envelope, or a non-1xxx status_code."""

    def __init__(
        self, message: str, *, http_status: int | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.status_code = status_code


@dataclass
class OcpiResult:
    http_status: int
    status_code: int
    status_message: str
    data: Any
    # Header names are case-insensitive (RFC 9110 5.1): a partner on HTTP/2 or an ASGI server
    # writes `link` and `x-total-count`, and must read the same as `Link` and `X-Total-Count`.
    headers: Mapping[str, str] = field(default_factory=CaseInsensitiveDict)


def authorization_header(token: str, encoding: str = BASE64) -> str:
    """`Token <base64(token)>` as OCPI 2.2.1 says, or the raw token for older peers."""
    if encoding == RAW:
        return f"Token {token}"
    return "Token " + base64.b64encode(token.encode("utf-8")).decode("ascii")


def _retry_policy() -> Retry:
    return Retry(
        total=3,
        connect=3,
        read=2,
        status=3,
        backoff_factor=0.5,
        status_forcelist=(429, 502, 503, 504),
        allowed_methods=frozenset({"GET", "PUT", "DELETE", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # A Decimal with 4 decimals survives float conversion exactly enough for JSON.
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value)!r}")


class OcpiClient:
    """Calls one partner with one credentials token."""

    def __init__(
        self,
        token: str,
        *,
        encoding: str = BASE64,
        connection_id: int | None = None,
        from_party: tuple[str, str] | None = None,
        to_party: tuple[str, str] | None = None,
        timeout: tuple[float, float] | None = None,
        retries: bool = True,
    ) -> None:
        self.connection_id = connection_id
        self.from_party = from_party
        self.to_party = to_party
        self.timeout = timeout or settings.OCPI_CLIENT_TIMEOUT
        self.session = requests.Session()
        self.session.headers["Authorization"] = authorization_header(token, encoding)
        self.session.headers["Accept"] = "application/json"
        adapter = HTTPAdapter(max_retries=_retry_policy() if retries else 0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> OcpiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self, url: str, params: dict[str, Any] | None = None, *, module: str = ""
    ) -> OcpiResult:
        return self.request("GET", url, params=params, module=module)

    def post(self, url: str, body: Any = None, *, module: str = "") -> OcpiResult:
        return self.request("POST", url, body=body, module=module)

    def put(self, url: str, body: Any = None, *, module: str = "") -> OcpiResult:
        return self.request("PUT", url, body=body, module=module)

    def patch(self, url: str, body: Any = None, *, module: str = "") -> OcpiResult:
        return self.request("PATCH", url, body=body, module=module)

    def delete(self, url: str, *, module: str = "") -> OcpiResult:
        return self.request("DELETE", url, module=module)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        module: str = "",
        correlation_id: str | None = None,
        timeout: tuple[float, float] | None = None,
    ) -> OcpiResult:
        """Send one OCPI request; raise OcpiClientError unless the answer is a 1xxx envelope."""
        request_id = str(uuid.uuid4())
        headers = {h.REQUEST_ID: request_id, h.CORRELATION_ID: correlation_id or request_id}
        if self.from_party:
            headers[h.FROM_COUNTRY], headers[h.FROM_PARTY] = self.from_party
        if self.to_party:
            headers[h.TO_COUNTRY], headers[h.TO_PARTY] = self.to_party
        payload = None
        if body is not None:
            payload = json.dumps(body, default=_json_default).encode("utf-8")
            headers["Content-Type"] = "application/json"

        started_at, start = timezone.now(), time.perf_counter()
        http_status: int | None = None
        raw = b""
        error = ""
        try:
            check_partner_url(url)
            http_status, response_headers, raw = self._exchange(
                method,
                url,
                params=params,
                data=payload,
                headers=headers,
                timeout=timeout or self.timeout,
            )
            # Parsed once the response is closed: an error raised here must not keep the
            # partner's socket open through its traceback.
            return self._parse(http_status, response_headers, raw)
        except (requests.RequestException, UnsafeUrl, OcpiClientError) as exc:
            error = str(exc) or type(exc).__name__
            if isinstance(exc, OcpiClientError):
                raise
            raise OcpiClientError(error, http_status=http_status) from exc
        finally:
            report_exchange(
                Exchange(
                    direction=OUTBOUND,
                    method=method,
                    url=(
                        url
                        + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
                    )[:2000],
                    started_at=started_at,
                    duration_ms=round((time.perf_counter() - start) * 1000, 3),
                    http_status=http_status,
                    ocpi_status_code=ocpi_status_of(raw),
                    request_id=request_id,
                    correlation_id=headers[h.CORRELATION_ID],
                    module=module,
                    connection_id=self.connection_id,
                    request_body=body_text(payload, settings.OCPI_EXCHANGE_LOG_MAX_REQUEST_BODY),
                    response_body=body_text(raw, settings.OCPI_EXCHANGE_LOG_MAX_RESPONSE_BODY),
                    error=error[:1000],
                )
            )

    def iter_pages(
        self, url: str, params: dict[str, Any] | None = None, *, module: str = ""
    ) -> Iterator[OcpiResult]:
        """GET a list and follow `Link: <...>; rel="next"` until the last page.

        Only a page without a next link ends the list (OCPI 2.2.1 transport_and_format,
        pagination): a page shorter than the limit asked for is not the end, the server may
        cap the limit. A next link back to a page already read fails instead of looping.
        """
        next_url: str | None = url
        next_params = params
        read: set[str] = set()
        while next_url:
            read.add(next_url)
            page = self.get(next_url, next_params, module=module)
            yield page
            next_url = parse_next_link(page.headers.get(h.LINK, ""))
            next_params = None  # the next link repeats every filter itself
            if next_url in read:
                raise OcpiClientError(f"The next link repeats a page already read: {next_url}")

    @staticmethod
    def _read_capped(response: requests.Response) -> bytes:
        cap = settings.OCPI_CLIENT_MAX_RESPONSE_BYTES
        chunks, size = [], 0
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > cap:
                raise OcpiClientError(
                    f"Response larger than {cap} bytes.", http_status=response.status_code
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _exchange(
        self, method: str, url: str, **kwargs: Any
    ) -> tuple[int, CaseInsensitiveDict[str], bytes]:
        with self.session.request(method, url, stream=True, **kwargs) as response:
            # A copy that stays case-insensitive (a plain dict() would not): see OcpiResult.
            headers = CaseInsensitiveDict(response.headers)
            return response.status_code, headers, self._read_capped(response)

    @staticmethod
    def _parse(http_status: int, headers: Mapping[str, str], raw: bytes) -> OcpiResult:
        try:
            body = json.loads(raw, parse_float=Decimal) if raw else None
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("status_code"), int):
            raise OcpiClientError(
                f"HTTP {http_status} without an OCPI envelope.", http_status=http_status
            )
        result = OcpiResult(
            http_status=http_status,
            status_code=body["status_code"],
            status_message=str(body.get("status_message") or ""),
            data=body.get("data"),
            headers=headers,
        )
        # Partners disagree on HTTP statuses for OCPI errors: any 4xx/5xx or non-1xxx code fails.
        if http_status >= 400 or not (1000 <= result.status_code < 2000):
            raise OcpiClientError(
                f"HTTP {http_status}, OCPI {result.status_code}: {result.status_message}",
                http_status=http_status,
                status_code=result.status_code,
            )
        return result


def parse_next_link(link: str) -> str | None:
    """The URL of rel="next" in a Link header, if any (RFC 8288: relation types are compared
    case-insensitively, and one rel may list several space-separated types)."""
    for part in link.split(","):
        section = part.split(";")
        if len(section) < 2:
            continue
        url = section[0].strip()
        if (
            url.startswith("<")
            and url.endswith(">")
            and any(_is_next(param) for param in section[1:])
        ):
            return url[1:-1]
    return None


def _is_next(param: str) -> bool:
    name, _, value = param.partition("=")
    if name.strip().lower() != "rel":
        return False
    return "next" in value.strip().strip('"').lower().split()
