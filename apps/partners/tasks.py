"""Celery entry points of the partners app: thin, idempotent, ids only."""

from celery import shared_task

from .outbox import outbox_deliver, outbox_due_connection_ids


@shared_task(acks_late=True, ignore_result=True)
def outbox_deliver_task(connection_id: int) -> int:
    return outbox_deliver(connection_id=connection_id)


@shared_task(ignore_result=True)
def outbox_sweep_task() -> int:
    """Wake delivery for every partner with due messages (retries, and wake-ups Redis lost)."""
    ids = outbox_due_connection_ids()
    for connection_id in ids:
        outbox_deliver_task.delay(connection_id)
    return len(ids)


@shared_task(acks_late=True, ignore_result=True)
def pull_module_task(module: str) -> int:
    """Incremental pull of one module from every partner that sends it."""
    from .pull import pull_connections_for, pull_run

    connections = pull_connections_for(module)
    for connection in connections:
        pull_run(connection=connection, module=module)
    return len(connections)


@shared_task(acks_late=True, ignore_result=True)
def initial_sync_task(sync_id: int) -> int:
    """Queue the next batch of an initial sync (it queues the batch after it itself)."""
    from .initial_sync import initial_sync_step

    return initial_sync_step(sync_id=sync_id)
