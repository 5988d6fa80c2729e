"""The audit log writer: queued rows reach the table, and what it promises when things go wrong.

These tests run the real writer thread against the test database (committed transactions, so
the thread's own connection sees the tables). test_web_server.py stops a real server with rows
queued.
"""

from __future__ import annotations

import logging
import os
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.audit.log_writer import AppendBatch
from apps.tokens.models import AuthorizationDecision

pytestmark = pytest.mark.django_db(transaction=True)
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (CI runs it)"
)


def decision(uid: str = "CARD1", **values) -> dict:
    return {
        "created_at": timezone.now(),
        "side": "emsp",
        "uid": uid,
        "type": "RFID",
        "evse_uids": ["E1", "E2"],
        "allowed": "ALLOWED",
        "source": "local",
        "latency_ms": 1.5,
        **values,
    }


@pytest.fixture
def batch():
    made: list[AppendBatch] = []

    def make(**options) -> AppendBatch:
        made.append(AppendBatch(AuthorizationDecision, **{"interval": 3600, **options}))
        return made[-1]

    yield make
    for each in made:
        each.stop()


def eventually(check, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not written in time"
        time.sleep(0.02)


def test_the_writer_thread_stores_queued_rows_within_the_interval(batch):
    writer = batch(interval=0.05)
    at = timezone.now()
    for n in range(3):
        writer.add(**decision(f"CARD{n}", created_at=at))
    eventually(lambda: AuthorizationDecision.objects.count() == 3)
    row = AuthorizationDecision.objects.get(uid="CARD1")
    assert row.created_at == at
    assert row.evse_uids == ["E1", "E2"]  # JSON, as the ORM writes it
    assert (row.location_id, row.authorization_reference) == ("", "")  # defaults filled


def test_a_row_logged_in_a_transaction_that_rolls_back_is_kept(batch):
    writer = batch()

    def failing_change() -> None:
        with transaction.atomic():
            writer.add(**decision())
            raise RuntimeError("the business change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert writer.flush() == 1
    assert AuthorizationDecision.objects.filter(uid="CARD1").exists()


def test_an_unknown_field_is_refused_when_added(batch):
    with pytest.raises(TypeError, match="colour"):
        batch().add(**decision(colour="red"))


@on_postgresql
def test_a_row_the_database_refuses_is_dropped_alone(batch, caplog):
    writer = batch()
    writer.add(**decision("GOOD1"))
    writer.add(**decision("BAD\x00"))  # PostgreSQL text cannot hold NUL
    writer.add(**decision("GOOD2"))
    with caplog.at_level(logging.ERROR):
        assert writer.flush() == 2
    assert sorted(AuthorizationDecision.objects.values_list("uid", flat=True)) == [
        "GOOD1",
        "GOOD2",
    ]
    assert "row refused by the database" in caplog.text
    assert writer.flush() == 0  # not retried forever


@on_postgresql
def test_rows_wait_while_the_database_is_unreachable_and_are_written_after(batch, caplog):
    writer = batch()
    writer.add(**decision("BEFORE"))
    assert writer.flush() == 1  # the connection is open now
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    # The server ends the connection, as a PostgreSQL restart or failover would.
    with psycopg.connect(**_admin_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    writer.add(**decision("DURING1"))
    writer.add(**decision("DURING2"))
    with caplog.at_level(logging.ERROR):
        assert writer.flush() == 0
    assert "database unreachable, 2 rows wait" in caplog.text
    writer.add(**decision("AFTER"))
    assert writer.flush() == 3  # reconnected; the waiting rows first
    assert list(AuthorizationDecision.objects.order_by("id").values_list("uid", flat=True)) == [
        "BEFORE",
        "DURING1",
        "DURING2",
        "AFTER",
    ]


def test_a_full_queue_drops_the_oldest_rows_and_says_so(batch, caplog):
    writer = batch(max_rows=3)
    for n in range(5):
        writer.add(**decision(f"CARD{n}"))
    with caplog.at_level(logging.ERROR):
        assert writer.flush() == 3
    assert "2 rows dropped" in caplog.text
    assert sorted(AuthorizationDecision.objects.values_list("uid", flat=True)) == [
        "CARD2",
        "CARD3",
        "CARD4",
    ]


def test_a_celery_pool_process_writes_queued_rows_as_it_shuts_down(batch):
    # Pool processes leave through os._exit (no atexit); echargo.celery flushes on this signal.
    from celery.signals import worker_process_shutdown

    import echargo.celery  # noqa: F401 (connects the receiver, as the worker's -A echargo does)

    batch().add(**decision("POOL"))
    worker_process_shutdown.send(sender=None, pid=os.getpid(), exitcode=0)
    assert AuthorizationDecision.objects.filter(uid="POOL").exists()


def _admin_params() -> dict:
    db = settings.DATABASES["default"]
    return {
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
        "dbname": "postgres",
    }
