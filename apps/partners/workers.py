"""How the outbox and the initial sync hand work to Celery without importing tasks.py.

tasks.py holds the Celery entry points and imports the outbox and the initial sync to run them,
so those cannot import tasks.py back (a circle). They ask this module instead, and
PartnersConfig.ready() plugs the tasks in once every app is loaded. Each call is made after
the caller's transaction commits: a worker must find the rows the caller wrote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

Enqueue = Callable[..., Any]  # a Celery task's apply_async(args, countdown=...)

_deliver: Enqueue | None = None
_sync_step: Enqueue | None = None


def plug(*, deliver: Enqueue, sync_step: Enqueue) -> None:
    global _deliver, _sync_step
    _deliver, _sync_step = deliver, sync_step


def _enqueue(task: Enqueue | None, arg: int, countdown: float | None = None) -> None:
    if task is None:  # pragma: no cover - ready() always plugs them in
        raise RuntimeError("apps.partners.workers used before the app registry was ready.")
    kwargs = {"countdown": countdown} if countdown else {}
    transaction.on_commit(lambda: task((arg,), **kwargs))


def delivery_wake(connection_id: int, *, at: dt.datetime | None = None) -> None:
    """Deliver this partner's due outbox messages once the caller commits (at `at`, if later).

    The periodic outbox sweep delivers them too, should this wake-up be lost."""
    wait = (at - timezone.now()).total_seconds() if at is not None else 0
    _enqueue(_deliver, connection_id, countdown=wait + 1 if wait > 0 else None)


def initial_sync_next(sync_id: int) -> None:
    """Queue the next batch of an initial sync once the caller commits."""
    _enqueue(_sync_step, sync_id)
