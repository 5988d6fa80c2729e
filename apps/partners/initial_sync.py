"""The initial sync: our whole current set of a module, delivered to a partner's Receiver.

A partner that connects has none of our objects, and pushes carry changes only: without this
a new eMSP would see none of our stations until one of them changed. When a connection
becomes active (whichever side started the handshake, or a resume) every module we send and
the partner receives is queued through the outbox; staff can send one module again from the
connection's page. Batches of OCPI_INITIAL_SYNC_BATCH objects are queued by a Celery task, one
transaction each, after the handshake commits: never one transaction for a whole network, and
never in the web request that completed the handshake (when Celery runs on a broker).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from apps.audit.services import audit_event_record

from .models import InitialSync, OutboxMessage, PartnerConnection
from .outbox import outbox_enqueue
from .publishing import initial_sync_modules, initial_sync_source
from .workers import delivery_wake, initial_sync_next


def initial_sync_receives(connection: PartnerConnection, module: str) -> bool:
    """Whether the partner takes our `module`: a party in the receiving role and a Receiver."""
    source = initial_sync_source(module)
    return (
        source is not None
        and connection.status == PartnerConnection.Status.CONNECTED
        and bool(connection.endpoint_url(module, "RECEIVER"))
        and connection.parties.filter(role=source.receiver_role).exists()
    )


def initial_sync_start(
    *,
    connection: PartnerConnection,
    module: str,
    reason: str,
    delay_seconds: float = 0,
) -> InitialSync:
    """Queue our whole current set of `module` for the partner (after the caller commits).

    `delay_seconds` holds the first delivery back (see InitialSync.deliver_from). Raises
    ValueError when the partner does not take the module.
    """
    if not initial_sync_receives(connection, module):
        raise ValueError(f"{connection} takes no {module} from us (no party or no Receiver).")
    now = timezone.now()
    sync = InitialSync.objects.create(
        connection=connection,
        module=module,
        reason=reason[:200],
        started_at=now,
        deliver_from=now + dt.timedelta(seconds=delay_seconds),
    )
    audit_event_record(
        connection_id=connection.pk,
        verb="initial_sync.started",
        object_type=module,
        message=f"Sending all our {module} to {connection}: {reason}.",
    )
    _queue_next_batch(sync)
    return sync


def initial_sync_start_all(
    *, connection: PartnerConnection, reason: str, delay_seconds: float = 0
) -> list[InitialSync]:
    """`initial_sync_start` for every module we send that the partner receives."""
    return [
        initial_sync_start(
            connection=connection, module=module, reason=reason, delay_seconds=delay_seconds
        )
        for module in initial_sync_modules()
        if initial_sync_receives(connection, module)
    ]


def initial_sync_step(*, sync_id: int) -> int:
    """Queue the next batch of one initial sync in its own transaction, and the batch after it
    once this one commits. How many messages this batch queued."""
    with transaction.atomic():
        sync = (
            InitialSync.objects.select_for_update()
            .select_related("connection")
            .filter(pk=sync_id, status=InitialSync.Status.QUEUEING)
            .first()
        )
        if sync is None:
            return 0
        connection = sync.connection
        if not initial_sync_receives(connection, sync.module):
            sync.status = InitialSync.Status.SKIPPED
            sync.save(update_fields=["status"])
            return 0
        source = initial_sync_source(sync.module)
        limit = settings.OCPI_INITIAL_SYNC_BATCH
        batch = source.batch(connection, sync.next_after, limit)
        to_party = _receiving_party(connection, source.receiver_role)
        for pk, document in batch:
            outbox_enqueue(
                connection=connection,
                module=sync.module,
                object_key=document.object_key,
                method="PUT",
                path=document.path,
                body=document.body,
                to_party=to_party,
                sync=sync,
                next_attempt_at=sync.deliver_from,
                wake=False,
            )
            sync.next_after = pk
        sync.queued += len(batch)
        sync.queued_at = timezone.now()
        if len(batch) < limit:
            sync.status = InitialSync.Status.QUEUED
            audit_event_record(
                connection_id=connection.pk,
                verb="initial_sync.queued",
                object_type=sync.module,
                message=f"{sync.queued} {sync.module} queued for {connection}.",
            )
        sync.save(update_fields=["next_after", "queued", "queued_at", "status"])
        if batch:
            _wake_delivery_on_commit(connection.pk, sync.deliver_from)
        if sync.status == InitialSync.Status.QUEUEING:
            _queue_next_batch(sync)
    return len(batch)


def initial_sync_progress(sync: InitialSync) -> dict[str, int]:
    """Counts of the sync's outbox messages by status (a superseded one was overtaken by a
    newer version of its object, which carries it)."""
    counts = dict(
        sync.messages.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in OutboxMessage.Status.values}


def initial_sync_progress_for(connection: PartnerConnection) -> list[dict[str, Any]]:
    """The connection's initial syncs, newest first, with their delivery counts (admin)."""
    undelivered = (OutboxMessage.Status.PENDING, OutboxMessage.Status.DELIVERING)
    rows = connection.initial_syncs.annotate(
        delivered=Count("messages", filter=Q(messages__status=OutboxMessage.Status.DELIVERED)),
        waiting=Count("messages", filter=Q(messages__status__in=undelivered)),
        superseded=Count("messages", filter=Q(messages__status=OutboxMessage.Status.SUPERSEDED)),
        dead=Count("messages", filter=Q(messages__status=OutboxMessage.Status.DEAD)),
    ).order_by("-pk")[:20]
    return [
        {
            "sync": row,
            "delivered": row.delivered,
            "waiting": row.waiting,
            "superseded": row.superseded,
            "dead": row.dead,
        }
        for row in rows
    ]


def _receiving_party(connection: PartnerConnection, role: str) -> tuple[str, str] | None:
    parties = list(connection.parties.filter(role=role).values_list("country_code", "party_id"))
    return parties[0] if len(parties) == 1 else None


def _queue_next_batch(sync: InitialSync) -> None:
    initial_sync_next(sync.pk)


def _wake_delivery_on_commit(connection_id: int, deliver_from: dt.datetime) -> None:
    delivery_wake(connection_id, at=deliver_from)
