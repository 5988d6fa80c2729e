"""Request bodies sent with `Transfer-Encoding: chunked`, under uWSGI.

A partner's HTTP client may stream a JSON body chunked instead of sending Content-Length.
gunicorn decoded such bodies; uWSGI's HTTP socket hands them to the application undecoded, and
Django, seeing no Content-Length, reads an empty body: the partner's data would be dropped
without an error. This WSGI wrapper reads the chunks through uWSGI's API into an ordinary body
before Django sees the request.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def is_chunked(environ: dict[str, Any]) -> bool:
    return (
        "CONTENT_LENGTH" not in environ
        and environ.get("HTTP_TRANSFER_ENCODING", "").strip().lower() == "chunked"
    )


def read_chunks(read_chunk: Callable[[], bytes], limit: int) -> bytes:
    """The decoded body, read chunk by chunk until the empty last chunk, or until it grew past
    `limit` (then more than `limit` bytes are returned, and Django refuses the request as too
    large, with the size check it applies to any body)."""
    parts, size = [], 0
    while size <= limit:
        chunk = read_chunk()
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def with_chunked_bodies(app: WSGIApp, read_chunk: Callable[[], bytes], limit: int) -> WSGIApp:
    """`app`, given chunked request bodies as a plain body with its Content-Length."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]):
        if is_chunked(environ):
            body = read_chunks(read_chunk, limit)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return app(environ, start_response)

    return application
