"""Audit log rows written by a background thread, a batch per transaction.

Every OCPI call, in or out, writes an exchange-log row, and every tap an authorization
decision. Written in the request, each row costs an INSERT and a commit of its own: on the
2-core reference machine about 0.6 ms of CPU each, together two fifths of a whole authorization
(bench/bench_tokens.py). `log_append` queues such rows and a daemon thread per process writes
them every AUDIT_LOG_FLUSH_SECONDS, all queued rows of a table in one transaction on the
thread's own database connection. With AUDIT_LOG_FLUSH_SECONDS=0 (tests, the SQLite demo) each
row is inserted at once, in the caller's transaction.

What this trades, on purpose (README, "Exchange log"):
- rows reach the table up to `interval` seconds after the call (0.1 s by default);
- a process killed hard (SIGKILL, out of memory) loses the rows of its last interval; a normal
  exit (SIGTERM to the web server, a worker replaced, `manage.py` commands) writes them first, and
  Celery's pool processes flush when they shut down (echargo/celery.py);
- rows commit on their own connection: an exchange logged inside a business transaction that
  rolls back later is still kept, because the call did happen;
- while the database cannot be reached rows wait, up to `max_rows`; beyond that the oldest are
  dropped and the loss is logged. A row the database refuses (bad data) is dropped alone, with
  an error log, and does not hold back the others. The log never blocks or breaks the exchange.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections import deque
from functools import cache
from typing import Any

from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    connections,
    models,
    router,
    transaction,
)

from .log_insert import append_row, insert_plan

logger = logging.getLogger(__name__)

_batches: weakref.WeakSet[AppendBatch] = weakref.WeakSet()


def log_append(model: type[models.Model], **values: Any) -> None:
    """Append one row to the log table `model` (keyed by attname, as `append_row`)."""
    batch = _batch_of(model)
    if batch is not None:
        batch.add(**values)
        return
    alias = router.db_for_write(model)
    if transaction.get_connection(alias).in_atomic_block:
        # A savepoint: a failed insert, which a caller may swallow, must not poison the
        # caller's transaction.
        with transaction.atomic(using=alias):
            append_row(model, **values)
    else:
        append_row(model, **values)


@cache
def _batch_of(model: type[models.Model]) -> AppendBatch | None:
    interval = settings.AUDIT_LOG_FLUSH_SECONDS
    return AppendBatch(model, interval=interval) if interval > 0 else None


class AppendBatch:
    """Queue rows of one append-only model; a daemon thread inserts them every `interval` s."""

    def __init__(
        self, model: type[models.Model], *, interval: float, max_rows: int = 50_000
    ) -> None:
        self.model = model
        self.interval = interval
        self.max_rows = max_rows
        self._attnames = frozenset(f.attname for f in insert_plan(model)[1])
        self._rows: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._dropped = 0
        self._thread: threading.Thread | None = None
        _batches.add(self)

    def _after_fork(self) -> None:
        # A forked child (Celery's pool) inherits the parent's queue, no thread, and perhaps a
        # lock held by the parent's writer at the fork: the parent writes its own rows, the
        # child starts afresh.
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._rows = deque()
        self._dropped = 0
        self._stopping = False
        self._thread = None

    def add(self, **values: Any) -> None:
        """Queue one row (keyed by attname, as `append_row`); never waits on the database."""
        unknown = values.keys() - self._attnames
        if unknown:
            raise TypeError(f"Unknown {self.model.__name__} fields: {', '.join(sorted(unknown))}")
        with self._lock:
            if len(self._rows) >= self.max_rows:
                self._rows.popleft()
                self._dropped += 1
            self._rows.append(values)
            if self._thread is None:
                self._start()

    def flush(self) -> int:
        """Write every queued row now; how many were stored. Called by the thread and at exit."""
        with self._lock:
            rows = list(self._rows)
            self._rows.clear()
            dropped, self._dropped = self._dropped, 0
        if dropped:
            logger.error("%s log queue was full: %d rows dropped", self.model.__name__, dropped)
        if not rows:
            return 0
        try:
            return self._write(rows)
        except _Unreachable as away:
            # The database is away (restart, network): the rows not written wait for the next
            # round, in front of the ones queued meanwhile; the connection is opened afresh.
            logger.exception(
                "%s log: database unreachable, %d rows wait", self.model.__name__, len(away.rows)
            )
            connections[self._alias].close()
            with self._lock:
                self._rows.extendleft(reversed(away.rows))
                while len(self._rows) > self.max_rows:
                    self._rows.popleft()
                    self._dropped += 1
            return len(rows) - len(away.rows)

    def stop(self) -> None:
        """Let the thread finish the write it is in, then write the rest here. A later `add`
        starts a new thread."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=10)
        with self._lock:
            self._thread = None
            self._wake = threading.Event()
        self.flush()

    @property
    def _alias(self) -> str:
        return router.db_for_write(self.model)

    def _start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name=f"{self.model.__name__}-log-writer", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.interval)
            try:
                self.flush()
            except Exception:  # the writer thread must outlive any one bad round
                logger.exception("%s log: flush failed", self.model.__name__)
        connections[self._alias].close()

    def _write(self, rows: list[dict[str, Any]]) -> int:
        """All rows in one transaction; when the database refuses it, row by row."""
        sql, fields = insert_plan(self.model)
        connection = connections[self._alias]
        params = [
            [
                f.get_db_prep_save(
                    row[f.attname] if f.attname in row else f.get_default(), connection
                )
                for f in fields
            ]
            for row in rows
        ]
        try:
            with transaction.atomic(using=self._alias), connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    # COPY: one statement streams every row, several times cheaper than
                    # executemany's statement per row (psycopg errors translated as Django's).
                    with (
                        connection.wrap_database_errors,
                        cursor.copy(_copy_sql(self.model)) as copy,
                    ):
                        for row_params in params:
                            copy.write_row(row_params)
                else:
                    cursor.executemany(sql, params)
            return len(rows)
        except (OperationalError, InterfaceError) as error:
            raise _Unreachable(rows) from error
        except DatabaseError:
            pass
        # One row the database refuses (bad data) must not cost the others.
        stored = 0
        for n, row_params in enumerate(params):
            try:
                with transaction.atomic(using=self._alias), connection.cursor() as cursor:
                    cursor.execute(sql, row_params)
                stored += 1
            except (OperationalError, InterfaceError) as error:
                raise _Unreachable(rows[n:]) from error
            except DatabaseError:
                logger.exception(
                    "%s log: row refused by the database, dropped", self.model.__name__
                )
        return stored


@cache
def _copy_sql(model: type[models.Model]) -> str:
    columns = ", ".join(f'"{f.column}"' for f in insert_plan(model)[1])
    return f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN'


class _Unreachable(Exception):
    """The database could not be reached; `rows` were not written."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(rows)} rows not written")
        self.rows = rows


def flush_all() -> None:
    """Write what every batch of this process still holds (at exit, on pool shutdown): each
    writer thread first finishes the write it is in, which a process exit would cut short."""
    for batch in list(_batches):
        try:
            batch.stop()
        except Exception:
            logger.exception("%s log: last flush failed", batch.model.__name__)


def _after_fork_in_child() -> None:
    for batch in list(_batches):
        batch._after_fork()


atexit.register(flush_all)
os.register_at_fork(after_in_child=_after_fork_in_child)
