"""What the protocol layer reports about every OCPI exchange, in and out.

The protocol layer knows no app: it sends `exchange_completed` and the audit app listens. A
failing listener is logged and ignored, so logging can never break the exchange itself.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger(__name__)

exchange_completed = Signal()

INBOUND = "in"
OUTBOUND = "out"

# Credentials tokens travel as {"token": "..."} in the credentials module; driver Token objects
# are JSON objects under "token", which are left alone.
TOKEN_KEY = "token"  # noqa: S105 (a JSON key, not a secret)
MASK_VALUE = "********"
MASK = f'"{MASK_VALUE}"'
_STATUS_CODE = re.compile(rb'"status_code"\s*:\s*(\d{4})')
# A JSON string member `"key": "value"`, the value possibly cut off by truncation. Used on text
# that does not parse (cut off, or not JSON at all), where keys are decoded one by one.
_STRING_MEMBER = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:\s*)"(?:[^"\\]|\\.)*(?:"|\\?$)')
_SURROGATE = re.compile("[\ud800-\udfff]")
# The same for a key spelled literally (a value cut off by truncation is masked too).
_LITERAL_TOKEN_VALUE = re.compile(r'("token"\s*:\s*)"(?:[^"\\]|\\.)*(?:"|\\?$)')


def _mask_parsed(value: Any) -> bool:
    """Mask credentials token values in a parsed document in place; whether any was found."""
    found = False
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if key == TOKEN_KEY and isinstance(child, str):
                    item[key] = MASK_VALUE
                    found = True
                else:
                    stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _key_is_token(escaped: str) -> bool:
    if escaped == TOKEN_KEY:
        return True
    if "\\" not in escaped:
        return False
    try:
        return json.loads(f'"{escaped}"') == TOKEN_KEY
    except ValueError:
        return False


def _mask_text(text: str) -> str:
    return _STRING_MEMBER.sub(
        lambda m: f'"{m.group(1)}"{m.group(2)}{MASK}' if _key_is_token(m.group(1)) else m.group(0),
        text,
    )


def mask_secrets(body: str) -> str:
    """Hide credentials token values in a JSON body, however its keys are spelled.

    JSON lets a key be written with escapes ("\\u0074oken" is "token"), so a search for the
    literal text misses it. Without any \\u escape in the body every key is spelled as it
    reads, and the literal search is exact (the common case, cheap on every authorization).
    With one, a body that parses is masked on the parsed document (written back only when
    something was masked); otherwise (cut off by truncation, not JSON, or a duplicate key hiding
    a string behind an object) it is masked member by member, each key decoded.
    """
    if "\\u" not in body:
        return _LITERAL_TOKEN_VALUE.sub(lambda m: m.group(1) + MASK, body)
    try:
        document = json.loads(body)
        if _mask_parsed(document):
            # A lone surrogate (a valid JSON escape, not a character) cannot be stored as UTF-8.
            compact = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
            return _SURROGATE.sub("\ufffd", compact)
    except (ValueError, RecursionError):
        pass
    return _mask_text(body)


def body_text(raw: bytes | str | None, limit: int) -> str:
    """Decode, truncate and mask a body for the log (truncated first: big pages stay cheap)."""
    if not raw:
        return ""
    size = len(raw)
    if isinstance(raw, bytes):
        raw = raw[: limit * 4].decode("utf-8", errors="replace")
    text = raw[:limit]
    # PostgreSQL text cannot hold NUL; a hostile body must still be logged.
    text = mask_secrets(text).replace("\x00", "\ufffd")
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
