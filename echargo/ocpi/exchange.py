"""What the protocol layer reports about every OCPI exchange, in and out.

The protocol layer knows no app: it sends `exchange_completed` and the audit app listens. A
failing listener is logged and ignored, so logging can never break the exchange itself.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.dispatch import Signal

logger = logging.getLogger(__name__)

exchange_completed = Signal()

INBOUND = "in"
OUTBOUND = "out"

# Credentials tokens travel as {"token": "..."} in the credentials module; driver Token objects
# are JSON objects under "token", which this pattern leaves alone. A value cut off by truncation
# (no closing quote) is masked too.
_TOKEN_VALUE = re.compile(r'("token"\s*:\s*)"(?:[^"\\]|\\.)*(?:"|$)')
MASK = '"********"'
_STATUS_CODE = re.compile(rb'"status_code"\s*:\s*(\d{4})')


def mask_secrets(body: str) -> str:
    """Hide credentials token values in a JSON body."""
    return _TOKEN_VALUE.sub(lambda m: m.group(1) + MASK, body)


def body_text(raw: bytes | str | None, limit: int) -> str:
    """Decode, truncate and mask a body for the log (truncated first: big pages stay cheap)."""
    if not raw:
        return ""
    size = len(raw)
    if isinstance(raw, bytes):
        raw = raw[: limit * 4].decode("utf-8", errors="replace")
    text = raw[:limit]
    # PostgreSQL text cannot hold NUL; a hostile body must still be logged.
    text = mask_secrets(text.replace("\x00", "\ufffd"))
    if size > limit:
        text += f"... [truncated, {size} bytes]"
    return text


def ocpi_status_of(raw: bytes | None) -> int | None:
    """The status_code of an envelope body, or None when the body is not one.

    Envelopes put status_code after data; a search from the end avoids parsing large pages.
    """
    if not raw:
        return None
    matches = _STATUS_CODE.findall(raw[-300:]) or _STATUS_CODE.findall(raw[:300])
    return int(matches[-1]) if matches else None


@dataclass
class Exchange:
    direction: str
    method: str
    url: str
    started_at: datetime
    duration_ms: float
    http_status: int | None
    ocpi_status_code: int | None
    request_id: str
    correlation_id: str
    module: str = ""
    connection_id: int | None = None
    request_body: str = ""
    response_body: str = ""
    error: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def report_exchange(exchange: Exchange) -> None:
    """Tell the listeners; never raise."""
    for _receiver, result in exchange_completed.send_robust(sender=Exchange, exchange=exchange):
        if isinstance(result, Exception):
            logger.warning("exchange listener failed: %r", result)
