"""Writing the audit trail. Every app records its business events through here."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db.models import Model
from django.utils import timezone

from apps.audit.log_writer import flush_all, log_append
from echargo.ocpi.exchange import Exchange

from .models import AuditEvent, OcpiExchange

logger = logging.getLogger(__name__)


def audit_event_record(
    *,
    verb: str,
    message: str,
    connection_id: int | None = None,
    object_type: str = "",
    object_key: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record a business event (runs in the caller's transaction: no event without the change)."""
    return AuditEvent.objects.create(
        verb=verb,
        message=message,
        connection_id=connection_id,
        object_type=object_type,
        object_key=object_key,
        data=data or {},
    )


def audit_row_append(model: type[Model], **values: Any) -> None:
    """Append one row to an append-only log table of any app (the tokens app's authorization
    decisions, the chargers app's OCPP journal): queued for the batched log writer
    (apps/audit/log_writer.py says what that trades), never blocking the caller's exchange."""
    log_append(model, **values)


def audit_log_flush() -> None:
    """Write every queued log row now (a process about to exit)."""
    flush_all()


def exchange_record(*, exchange: Exchange) -> None:
    """Store one OCPI exchange (queued for the log writer, see apps/audit/log_writer)."""
    log_append(
        OcpiExchange,
        created_at=exchange.started_at,
        direction=exchange.direction,
        connection_id=exchange.connection_id,
        module=exchange.module[:32],
        method=exchange.method[:8],
        url=exchange.url,
        http_status=exchange.http_status,
        ocpi_status_code=exchange.ocpi_status_code,
        duration_ms=exchange.duration_ms,
        request_id=exchange.request_id[:100],
        correlation_id=exchange.correlation_id[:100],
        request_body=exchange.request_body,
        response_body=exchange.response_body,
        error=exchange.error,
    )


def exchange_record_from_signal(sender: Any, *, exchange: Exchange, **kwargs: Any) -> None:
    """Listener of echargo.ocpi's exchange_completed; a failure is logged, never raised."""
    try:
        exchange_record(exchange=exchange)
    except Exception:
        logger.exception("Could not store the OCPI exchange %s", exchange.request_id)


def exchange_log_purge(*, now: dt.datetime | None = None) -> int:
    """Delete exchange-log rows older than OCPI_EXCHANGE_LOG_RETENTION_DAYS; how many went."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.OCPI_EXCHANGE_LOG_RETENTION_DAYS)
    deleted, _ = OcpiExchange.objects.filter(created_at__lt=cutoff).delete()
    return deleted
