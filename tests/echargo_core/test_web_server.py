"""The Procfile's web server (uWSGI with uwsgi.ini), run for real on the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from django.conf import settings
from django.db import connection

from apps.audit.models import OcpiExchange
from echargo.web.chunked_input import read_chunks
from tests.peer import ROOT, free_port, web_server_command

pytestmark = pytest.mark.django_db(transaction=True)
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (CI runs it)"
)


def _server_env(**extra: str) -> dict[str, str]:
    """The environment of a server on the test database (which pytest-django named)."""
    db = settings.DATABASES["default"]
    url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    return {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)},
        "DJANGO_SETTINGS_MODULE": "echargo.settings",
        "DATABASE_URL": url,
        **extra,
    }


@contextmanager
def web_server(**env: str) -> Iterator[str]:
    """The server on a free port, until SIGTERM (as a deploy stops it) at the end of the block."""
    port = free_port()
    server = subprocess.Popen(
        web_server_command(port, processes=1, threads=2),
        cwd=ROOT,
        env=_server_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # The socket listens before the application has loaded: on a loaded machine (CI beside
        # other work) the first answer can take seconds, so a read timeout is waited out too.
        deadline = time.monotonic() + 90
        while True:
            try:
                requests.get(f"{url}/ocpi/versions", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert time.monotonic() < deadline, "the web server did not start"
                time.sleep(0.2)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            raise


@on_postgresql
def test_a_stopped_server_writes_the_queued_exchange_log_first():
    """A worker stopped the normal way (deploy, restart) writes its queued rows first."""
    with web_server(AUDIT_LOG_FLUSH_SECONDS="3600") as url:  # nothing written before the stop
        answer = requests.get(f"{url}/ocpi/versions", timeout=5)
        assert answer.status_code == 401
        request_id = answer.headers["X-Request-ID"]
        assert not OcpiExchange.objects.filter(request_id=request_id).exists()
    logged = OcpiExchange.objects.get(request_id=request_id)
    assert (logged.direction, logged.http_status) == ("in", 401)


@on_postgresql
def test_a_chunked_request_body_reaches_the_application_whole():
    """A partner's client that streams its JSON body chunked (no Content-Length) is read as
    one body: uWSGI alone would hand Django an empty one and the data would be lost."""
    sent = b'{"location_id": "LOC1", "evse_uids": ["E1"]}'

    def chunks():
        yield sent[:10]
        yield sent[10:]

    # One kept-alive connection for both requests: the chunked one must leave it clean.
    with web_server(AUDIT_LOG_FLUSH_SECONDS="0") as url, requests.Session() as session:
        chunked = session.post(f"{url}/ocpi/versions", data=chunks(), timeout=5)
        plain = session.post(f"{url}/ocpi/versions", data=sent, timeout=5)
    for answer in (chunked, plain):
        assert answer.status_code == 401
        logged = OcpiExchange.objects.get(request_id=answer.headers["X-Request-ID"])
        assert logged.request_body == sent.decode()


def test_chunks_are_read_until_the_last_or_just_past_the_limit():
    def reader(*chunks: bytes):
        pending = list(chunks)
        return lambda: pending.pop(0) if pending else b""

    assert read_chunks(reader(b"ab", b"cd", b""), limit=10) == b"abcd"
    # Past the limit reading stops: Django then refuses the body as too large (HTTP 413).
    assert read_chunks(reader(b"abcd", b"efgh", b"ijkl", b""), limit=5) == b"abcdefgh"
