"""Request body parsing: partner JSON numbers become Decimal, never float.

What a hostile body can do to a parser is refused here, as a transport error (HTTP 400 + 2001),
before any view or serializer sees it:
- nesting deeper than MAX_DEPTH: no OCPI object is more than a handful of levels deep, and a
  deep enough one makes `json.loads` (and every recursive walk after it) raise RecursionError;
- a lone UTF-16 surrogate ("\\ud800"): valid JSON text, but not a character; a string holding
  one cannot be encoded as UTF-8, so echoing it in a message or storing it would fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# OCPI 2.2.1's deepest object (a Location with EVSEs, connectors and their sub-objects) nests
# about 6 levels; 32 leaves room for any sane extension.
MAX_DEPTH = 32
_OPENERS = (b"{", b"[")
# A surrogate can only reach the parsed text through a \uD800-\uDFFF escape (the UTF-8
# decoder refuses encoded ones).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _problem(value: Any, *, depth: bool, surrogates: bool) -> str | None:
    """Walk the parsed value without recursion; what is wrong with it, or None."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            if depth and level > MAX_DEPTH:
                return f"JSON nested deeper than {MAX_DEPTH} levels."
            if surrogates:
                stack.extend((key, level) for key in item)
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            if depth and level > MAX_DEPTH:
                return f"JSON nested deeper than {MAX_DEPTH} levels."
            stack.extend((child, level + 1) for child in item)
        elif surrogates and isinstance(item, str) and _SURROGATE.search(item):
            return "A string holds a lone UTF-16 surrogate (\\ud800-\\udfff), not a character."
    return None


def ocpi_json_loads(raw: bytes) -> Any:
    """Parse a partner's JSON body (exact numbers); ValueError when it is not acceptable JSON."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels.") from None
    # The walk runs only when the body could hold a problem: cheap byte counts first, so the
    # small bodies of hot paths (authorizations) are not walked.
    deep = sum(raw.count(opener) for opener in _OPENERS) > MAX_DEPTH
    surrogates = _SURROGATE_ESCAPE.search(raw) is not None
    if deep or surrogates:
        problem = _problem(value, depth=deep, surrogates=surrogates)
        if problem:
            raise ValueError(problem)
    return value


class OcpiJSONParser(JSONParser):
    """JSON parser keeping numbers exact (parse_float=Decimal), for any media type partners send."""

    media_type = "*/*"

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        raw = stream.read() if stream is not None else b""
        if not raw.strip():
            return {}
        try:
            return ocpi_json_loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"Body is not valid JSON: {exc}") from exc
