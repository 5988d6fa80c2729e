"""Outbound push through the outbox: enqueue in the writer's transaction, deliver in order.

Every domain app publishes through `outbox_enqueue`; `outbox_deliver` (run by a Celery task,
woken after commit and by a periodic sweep) sends due messages per partner. A worker that dies
mid-delivery leaves a lease that expires, and the message is sent again: PUT and PATCH are
idempotent at the receiver, so a retried delivery cannot corrupt it, and a row lock keeps two
workers from sending the same message at the same time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.services import audit_event_record
from echargo.ocpi.client import OcpiClientError, OcpiResult

from .clients import partner_client
from .models import InitialSync, OutboxMessage, PartnerConnection
from .publishing import current_document, delivered_hook
from .workers import delivery_wake

logger = logging.getLogger(__name__)

UNDELIVERED = (OutboxMessage.Status.PENDING, OutboxMessage.Status.DELIVERING)


def _dumps(body: Any) -> str:
    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return float(value)
        raise TypeError(type(value))

    return "" if body is None else json.dumps(body, default=default, separators=(",", ":"))


def outbox_enqueue(
    *,
    connection: PartnerConnection,
    module: str,
    object_key: str,
    method: str,
    path: str,
    body: Any = None,
    kind: str = OutboxMessage.Kind.STATE,
    interface_role: str = "RECEIVER",
    to_party: tuple[str, str] | None = None,
    sync: InitialSync | None = None,
    next_attempt_at: dt.datetime | None = None,
    wake: bool = True,
) -> OutboxMessage:
    """Queue one push to one partner; call inside the transaction that made the change.

    State messages coalesce while undelivered: a PUT or DELETE supersedes every pending message
    for the object, a PATCH is merged into a pending PATCH (newer fields win).
    `object_key` starts with the owner's country_code/party_id, sent as OCPI-from-*; `to_party`
    (sent as OCPI-to-*) defaults to the connection's party when it carries only one.
    `sync` ties the message to the initial sync that queued it, `next_attempt_at` holds its
    first try back, and `wake=False` leaves waking delivery to the caller (one wake per batch).
    """
    if to_party is None:
        parties = set(connection.parties.values_list("country_code", "party_id"))
        to_party = parties.pop() if len(parties) == 1 else ("", "")
    message = OutboxMessage(
        to_country_code=to_party[0],
        to_party_id=to_party[1],
        connection=connection,
        module=module,
        interface_role=interface_role,
        object_key=object_key,
        method=method,
        path=path,
        body=_dumps(body),
        kind=kind,
        sync=sync,
        next_attempt_at=next_attempt_at or timezone.now(),
    )
    if kind == OutboxMessage.Kind.STATE:
        pending = OutboxMessage.objects.select_for_update().filter(
            connection=connection,
            module=module,
            object_key=object_key,
            status=OutboxMessage.Status.PENDING,
            kind=OutboxMessage.Kind.STATE,
        )
        if method in ("PUT", "DELETE"):
            pending.update(status=OutboxMessage.Status.SUPERSEDED)
        elif method == "PATCH":
            # Merge only into a PATCH of the same URL: an object key can cover children
            # (a location's EVSEs), whose PATCHes must stay apart.
            earlier = pending.filter(method="PATCH", path=path).order_by("pk").last()
            if earlier is not None and not pending.filter(pk__gt=earlier.pk).exists():
                merged = {**json.loads(earlier.body or "{}", parse_float=Decimal), **(body or {})}
                earlier.body = _dumps(merged)
                earlier.save(update_fields=["body"])
                if wake:
                    _wake_on_commit(connection.pk)
                return earlier
    message.save()
    if wake:
        _wake_on_commit(connection.pk)
    return message


def _wake_on_commit(connection_id: int) -> None:
    delivery_wake(connection_id)


def _claim_next(connection_id: int, now: dt.datetime) -> OutboxMessage | None:
    """Lease the oldest due message whose object has no earlier undelivered message."""
    lease = dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    with transaction.atomic():
        candidates = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(connection_id=connection_id)
            .filter(
                Q(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
                | Q(status=OutboxMessage.Status.DELIVERING, leased_until__lt=now)
            )
            .order_by("pk")
        )
        for message in candidates[:50]:
            blocked = OutboxMessage.objects.filter(
                connection_id=connection_id,
                object_key=message.object_key,
                module=message.module,
                pk__lt=message.pk,
                status__in=UNDELIVERED,
            ).exists()
            if blocked:
                continue
            message.status = OutboxMessage.Status.DELIVERING
            message.leased_until = now + lease
            message.attempts += 1
            message.save(update_fields=["status", "leased_until", "attempts"])
            return message
    return None


def _retry_delay(attempts: int) -> dt.timedelta:
    base = min(settings.OUTBOX_MAX_BACKOFF_SECONDS, 2 ** min(attempts, 20))
    return dt.timedelta(seconds=base * (0.5 + random.random() / 2))  # noqa: S311 (jitter)


def _send(message: OutboxMessage) -> OcpiResult:
    connection = message.connection
    if message.path.startswith(("https://", "http://")):
        # A URL the partner handed us for this message (OCPI commands: the response_url of
        # the command being answered), called as it is; the client checks it is safe.
        url = message.path
    else:
        base = connection.endpoint_url(message.module, message.interface_role)
        if not base:
            raise OcpiClientError(
                f"The partner announces no {message.module} {message.interface_role} endpoint."
            )
        # An empty path is the module URL itself (a CDR POST): no trailing slash added to it.
        url = base.rstrip("/") + ("/" + message.path.lstrip("/") if message.path else "")
    body = json.loads(message.body, parse_float=Decimal) if message.body else None
    # Routing headers (OCPI 2.2.1 transport): from = the object's owner (one of our parties),
    # to = the party the message is for.
    owner = tuple(message.object_key.split("/")[:2])
    to_party = (message.to_country_code, message.to_party_id) if message.to_party_id else None
    with partner_client(connection, from_party=owner, to_party=to_party) as client:
        return client.request(message.method, url, body=body, module=message.module)


def _settle_delivered(message: OutboxMessage, result: OcpiResult) -> None:
    """Mark the message delivered and hand the partner's answer to the module's hook.

    The partner holds the object now, whatever the hook does: a hook that fails is rolled back
    to its savepoint and logged, and the message stays delivered (never sent twice for it).
    """
    hook = delivered_hook(message.module)
    with transaction.atomic():
        message.status = OutboxMessage.Status.DELIVERED
        message.delivered_at = timezone.now()
        message.last_error = ""
        message.leased_until = None
        message.save(update_fields=["status", "delivered_at", "last_error", "leased_until"])
        if hook is None:
            return
        try:
            with transaction.atomic():
                hook(message, result)
        except Exception:
            logger.exception(
                "Delivered hook of %s failed for outbox #%s", message.module, message.pk
            )


def _settle(message: OutboxMessage, error: OcpiClientError) -> None:
    now = timezone.now()
    message.last_error = str(error)[:2000]
    message.last_http_status = error.http_status
    message.leased_until = None
    window = dt.timedelta(hours=settings.OUTBOX_RETRY_WINDOW_HOURS[message.kind])
    if now - message.created_at >= window:
        message.status = OutboxMessage.Status.DEAD
        logger.error(
            "Outbox message %s to %s is dead after %s attempts: %s",
            message.pk,
            message.connection,
            message.attempts,
            message.last_error,
        )
        audit_event_record(
            connection_id=message.connection_id,
            verb="outbox.dead_letter",
            object_type=message.module,
            object_key=message.object_key,
            message=f"{message.method} {message.module}/{message.path} to {message.connection} "
            f"gave up after {message.attempts} attempts: {message.last_error}",
        )
    else:
        message.status = OutboxMessage.Status.PENDING
        message.next_attempt_at = now + _retry_delay(message.attempts)
    message.save(
        update_fields=[
            "status",
            "last_error",
            "last_http_status",
            "leased_until",
            "next_attempt_at",
        ]
    )


# OCPI 2.2.1 status_codes: 2003 unknown Location, 2004 unknown Token; other client errors are
# read by their message, as partners answer an unknown object with 2000 or 2001 too.
_UNKNOWN_OBJECT_CODES = (2003, 2004)
_SAYS_UNKNOWN = re.compile(r"unknown|not found|not exist|no such|not known", re.IGNORECASE)


def _partner_lacks_object(error: OcpiClientError) -> bool:
    """The partner answered that it does not hold the object (HTTP 404, or an OCPI client error
    saying the object is unknown)."""
    if error.http_status == 404 or error.status_code in _UNKNOWN_OBJECT_CODES:
        return True
    code = error.status_code
    return code is not None and 2000 <= code < 3000 and bool(_SAYS_UNKNOWN.search(str(error)))


def _put_instead_of_patch(message: OutboxMessage, error: OcpiClientError) -> bool:
    """A PATCH of an object the partner does not hold can never succeed: replace it, once, by a
    PUT of the whole current object (from the module's `register_current_document` hook) rather
    than retrying it until it expires. False when that does not apply."""
    if message.method != "PATCH" or not _partner_lacks_object(error):
        return False
    document = current_document(message.connection, message.module, message.object_key)
    if document is None:
        return False
    to_party = (message.to_country_code, message.to_party_id) if message.to_party_id else None
    with transaction.atomic():
        message.status = OutboxMessage.Status.SUPERSEDED
        message.last_error = f"{error}"[:1900] + " (the partner lacks the object: sent by PUT)"
        message.last_http_status = error.http_status
        message.leased_until = None
        message.save(update_fields=["status", "last_error", "last_http_status", "leased_until"])
        # A PUT supersedes the object's later pending messages: the whole current object
        # carries what they carried.
        put = outbox_enqueue(
            connection=message.connection,
            module=message.module,
            object_key=document.object_key,
            method="PUT",
            path=document.path,
            body=document.body,
            kind=message.kind,
            interface_role=message.interface_role,
            to_party=to_party,
            wake=False,
        )
        audit_event_record(
            connection_id=message.connection_id,
            verb="outbox.patch_replaced_by_put",
            object_type=message.module,
            object_key=message.object_key,
            message=f"PATCH {message.module}/{message.path} to {message.connection} answered "
            f"that the partner does not hold the object ({error}); the whole object is sent "
            f"instead (PUT {message.module}/{document.path}, outbox #{put.pk}).",
        )
    return True


def outbox_deliver(*, connection_id: int, limit: int = 500) -> int:
    """Send this partner's due messages in order; how many were delivered."""
    connection = PartnerConnection.objects.filter(pk=connection_id).first()
    if connection is None or connection.status != PartnerConnection.Status.CONNECTED:
        return 0
    delivered = 0
    for _ in range(limit):
        message = _claim_next(connection_id, timezone.now())
        if message is None:
            break
        message.connection = connection
        try:
            result = _send(message)
        except OcpiClientError as exc:
            if not _put_instead_of_patch(message, exc):
                _settle(message, exc)
        else:
            _settle_delivered(message, result)
            delivered += 1
    return delivered


def outbox_due_connection_ids() -> list[int]:
    """Connections with messages due now (the periodic sweep wakes each)."""
    now = timezone.now()
    return list(
        OutboxMessage.objects.filter(
            Q(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
            | Q(status=OutboxMessage.Status.DELIVERING, leased_until__lt=now),
            connection__status=PartnerConnection.Status.CONNECTED,
        )
        .values_list("connection_id", flat=True)
        .distinct()
    )


@transaction.atomic
def outbox_retry_dead(*, message_ids: list[int]) -> int:
    """Staff put dead letters back in the queue (after fixing the partner side)."""
    count = 0
    for message in OutboxMessage.objects.select_for_update().filter(
        pk__in=message_ids, status=OutboxMessage.Status.DEAD
    ):
        message.status = OutboxMessage.Status.PENDING
        message.next_attempt_at = timezone.now()
        message.created_at = timezone.now()  # a new retry window
        message.save(update_fields=["status", "next_attempt_at", "created_at"])
        _wake_on_commit(message.connection_id)
        count += 1
    return count
