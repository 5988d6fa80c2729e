"""Scheduled and manual pull of partners' objects (OCPI 2.2.1: GET on the owner's Sender).

Each domain app registers a handler for its module; this module pages through the partner's
list with date_from from the last successful run, checks each object belongs to a party of the
connection, and hands it to the handler. An invalid object is skipped and counted, never
stored; a broken page stops the run without moving date_from, so nothing is lost or corrupted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.audit.services import audit_event_record
from echargo.ocpi.client import OcpiClientError
from echargo.ocpi.exceptions import OcpiError
from echargo.ocpi.fields import format_ocpi_datetime
from echargo.ocpi.routing import party_key

from .models import PartnerConnection, SyncState

logger = logging.getLogger(__name__)

# handler(connection, ocpi_object) stores one object; raises ValidationError/OcpiError if invalid.
Handler = Callable[[PartnerConnection, dict[str, Any]], None]


@dataclass(frozen=True)
class Puller:
    module: str
    handler: Handler
    page_limit: int = 100


_pullers: dict[str, Puller] = {}


def register_puller(module: str, handler: Handler, *, page_limit: int = 100) -> None:
    """Called from an app's AppConfig.ready(): how to store one pulled object of `module`."""
    _pullers[module] = Puller(module, handler, page_limit)


def pullable_modules() -> list[str]:
    return sorted(_pullers)


@dataclass
class PullResult:
    module: str
    pages: int = 0
    received: int = 0
    stored: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    completed: bool = False


def pull_run(
    *,
    connection: PartnerConnection,
    module: str,
    full: bool = False,
    on_page: Callable[[PullResult, int | None], None] | None = None,
) -> PullResult:
    """Pull one module from one partner; `full` ignores date_from and fetches everything."""
    from .services import partner_client

    puller = _pullers[module]
    state, _ = SyncState.objects.get_or_create(connection=connection, module=module)
    url = connection.endpoint_url(module, "SENDER")
    result = PullResult(module=module)
    started_at = timezone.now()
    if not url:
        result.errors.append(f"{connection} announces no {module} SENDER endpoint.")
        return _finish(state, result, started_at)
    params: dict[str, Any] = {"limit": puller.page_limit}
    if state.last_success_started_at and not full:
        params["date_from"] = format_ocpi_datetime(state.last_success_started_at)
    owners = {
        party_key(cc, pid) for cc, pid in connection.parties.values_list("country_code", "party_id")
    }
    try:
        with partner_client(connection) as client:
            for page in client.iter_pages(url, params, module=module):
                result.pages += 1
                if not isinstance(page.data, list):
                    raise OcpiClientError("A list page whose data is not a list.")
                for obj in page.data:
                    _store_one(connection, puller, obj, owners, result)
                if on_page:
                    total = page.headers.get("X-Total-Count")
                    on_page(result, int(total) if total and total.isdigit() else None)
        result.completed = True
    except OcpiClientError as exc:
        result.errors.insert(0, f"Pull stopped: {exc}")
    return _finish(state, result, started_at)


def _store_one(
    connection: PartnerConnection,
    puller: Puller,
    obj: Any,
    owners: set[tuple[str, str]],
    result: PullResult,
) -> None:
    result.received += 1
    try:
        if not isinstance(obj, dict):
            raise ValidationError("not an object")
        owner = (obj.get("country_code"), obj.get("party_id"))
        if not all(isinstance(v, str) for v in owner) or party_key(*owner) not in owners:
            raise ValidationError(f"owner {owner} is not a party of this connection")
        with transaction.atomic():
            puller.handler(connection, obj)
        result.stored += 1
    except (ValidationError, OcpiError) as exc:
        result.rejected += 1
        detail = exc.detail if isinstance(exc, ValidationError) else exc.message
        ident = obj.get("id") or obj.get("uid") if isinstance(obj, dict) else None
        if len(result.errors) < 50:
            result.errors.append(f"{ident}: {detail}")
        logger.warning(
            "Rejected pulled %s %s from %s: %s", puller.module, ident, connection, detail
        )


def _finish(state: SyncState, result: PullResult, started_at: Any) -> PullResult:
    state.last_run_at = timezone.now()
    state.last_counts = {
        "pages": result.pages,
        "received": result.received,
        "stored": result.stored,
        "rejected": result.rejected,
    }
    state.last_error = "\n".join(result.errors)[:5000]
    if result.completed:
        state.last_success_started_at = started_at
    state.save()
    audit_event_record(
        connection_id=state.connection_id,
        verb="pull.completed" if result.completed else "pull.failed",
        object_type=result.module,
        message=f"Pulled {result.module}: {result.stored} stored, {result.rejected} rejected, "
        f"{result.pages} pages" + ("" if result.completed else f"; {result.errors[0]}"),
        data=state.last_counts,
    )
    return result


def pull_connections_for(module: str) -> list[PartnerConnection]:
    """Connected partners that announce a Sender interface for the module."""
    return [
        c
        for c in PartnerConnection.objects.filter(status=PartnerConnection.Status.CONNECTED)
        if c.endpoint_url(module, "SENDER")
    ]
