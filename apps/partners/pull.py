"""Scheduled and manual pull of partners' objects (OCPI 2.2.1: GET on the owner's Sender).

Each domain app registers a handler for its module; this module pages through the partner's
list with date_from from the last successful run, checks each object belongs to a party of the
connection, and hands it to the handler. An invalid object is skipped and counted, never
stored; a broken page stops the run without moving date_from, so nothing is lost or corrupted.

A run is complete only when it walked to a page without `Link: rel="next"`, no page failed, and
it received as many objects as the partner's X-Total-Count says (when sent). Anything less is
reported incomplete (SyncState.last_error, an audit event, a non-zero `ocpi_pull`), date_from
stays where it was, and nothing is retired. A complete full pull is the partner's new truth:
what it no longer lists is retired through the module's `retire` hook (see `Retire`), unless
the list looks unreliable.

Pull GETs carry the routing headers (OCPI 2.2.1 transport_and_format, message routing): from =
our party in the role that pulls, to = the partner's party that sends the module.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.audit.services import audit_event_record
from echargo.ocpi import headers as h
from echargo.ocpi.client import OcpiClientError
from echargo.ocpi.exceptions import OcpiError
from echargo.ocpi.fields import format_ocpi_datetime
from echargo.ocpi.routing import ci, party_key

from .clients import partner_client
from .models import PartnerConnection, Party, Role, SyncState

logger = logging.getLogger(__name__)

# handler(connection, ocpi_object) stores one object; raises ValidationError/OcpiError if invalid.
Handler = Callable[[PartnerConnection, dict[str, Any]], None]
# (country_code, party_id, id or uid) of a listed object, upper case (CiStrings).
ObjectKey = tuple[str, str, str]


class Retire(Protocol):
    """Retire the connection's objects of the module that a complete full pull did not list.

    Only objects of the connection's own (partner) parties, not in `seen`, and not changed at
    or after `started_at` (a push that crossed the run). Returns how many were retired, or with
    `dry_run` how many would be (nothing written). Called inside one transaction.
    """

    def __call__(
        self,
        connection: PartnerConnection,
        seen: set[ObjectKey],
        *,
        started_at: dt.datetime,
        dry_run: bool = False,
    ) -> int: ...


# The role that pulls from a partner sending in `role`: the other side of the module.
PULLING_ROLE = {Role.CPO: Role.EMSP, Role.EMSP: Role.CPO}


@dataclass(frozen=True)
class Puller:
    module: str
    handler: Handler
    page_limit: int = 100
    retire: Retire | None = None
    # The field that names an object in its list: "id", or "uid" for tokens.
    id_field: str = "id"
    # The partner role that owns (sends) the module: CPO for locations, EMSP for tokens.
    sender_role: str = Role.CPO


_pullers: dict[str, Puller] = {}


def register_puller(
    module: str,
    handler: Handler,
    *,
    page_limit: int = 100,
    retire: Retire | None = None,
    id_field: str = "id",
    sender_role: str = Role.CPO,
) -> None:
    """Called from an app's AppConfig.ready(): how to store one pulled object of `module`, and
    (optionally) how to retire the ones a full pull no longer lists."""
    _pullers[module] = Puller(module, handler, page_limit, retire, id_field, sender_role)


def pullable_modules() -> list[str]:
    return sorted(_pullers)


@dataclass
class PullResult:
    module: str
    pages: int = 0
    received: int = 0
    stored: int = 0
    rejected: int = 0
    retired: int = 0
    errors: list[str] = field(default_factory=list)
    # Walked to the last page, no page failed, the count matches: the run is the whole list.
    completed: bool = False
    # Why the run is not the whole list (also first in errors), when it is not.
    incomplete: str = ""
    # Why a complete full pull retired nothing although it might have (also in errors).
    retire_skipped: str = ""


def pull_run(
    *,
    connection: PartnerConnection,
    module: str,
    full: bool = False,
    on_page: Callable[[PullResult, int | None], None] | None = None,
) -> PullResult:
    """Pull one module from one partner; `full` ignores date_from and fetches everything."""
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
    listed = _Listed()
    walked_to_end = False
    try:
        with partner_client(connection, **_routing(connection, puller)) as client:
            for page in client.iter_pages(url, params, module=module):
                result.pages += 1
                if not isinstance(page.data, list):
                    raise OcpiClientError("A list page whose data is not a list.")
                for obj in page.data:
                    listed.note(obj, puller.id_field)
                    _store_one(connection, puller, obj, owners, result)
                total = (page.headers.get(h.TOTAL_COUNT) or "").strip()
                if total.isdigit():
                    listed.total = int(total)
                if on_page:
                    on_page(result, listed.total)
        walked_to_end = True
    except OcpiClientError as exc:
        result.incomplete = f"page {result.pages + 1} failed: {exc}"
    if walked_to_end and listed.total is not None and result.received != listed.total:
        # A partner that drops its Link header ends the list early: its own count shows it.
        result.incomplete = (
            f"received {result.received} of the {listed.total} objects the partner counts "
            f"(X-Total-Count) after {result.pages} page(s) without a next link"
        )
    result.completed = not result.incomplete
    if not result.completed:
        result.errors.insert(
            0,
            f"Pull incomplete: {result.incomplete}."
            + (" Nothing retired." if full and puller.retire is not None else ""),
        )
    elif full and puller.retire is not None:
        _retire_unlisted(connection, puller.retire, listed, result, started_at)
    return _finish(state, result, started_at)


def _routing(connection: PartnerConnection, puller: Puller) -> dict[str, tuple[str, str]]:
    """OCPI-from-*/to-* of a pull: our party in the pulling role, the partner's sending party.

    A connection carrying several parties of that role (a hub) is addressed as its hub party
    when it has one; the to-* pair is left out otherwise, as OCPI allows for a broadcast GET.
    """
    routing: dict[str, tuple[str, str]] = {}
    ours = (
        Party.objects.filter(is_own=True, role=PULLING_ROLE.get(puller.sender_role, ""))
        .order_by("pk")
        .values_list("country_code", "party_id")
        .first()
    )
    if ours:
        routing["from_party"] = ours
    theirs = list(
        connection.parties.filter(role=puller.sender_role).values_list("country_code", "party_id")
    )
    if len(theirs) != 1:
        theirs = list(
            connection.parties.filter(role=Role.HUB).values_list("country_code", "party_id")
        )
    if len(theirs) == 1:
        routing["to_party"] = theirs[0]
    return routing


@dataclass
class _Listed:
    """What the partner's list named in this run, rejected objects included."""

    seen: set[ObjectKey] = field(default_factory=set)
    # Objects without a readable (country_code, party_id, id): we cannot tell which they are.
    unnamed: int = 0
    # X-Total-Count of the last page that sent one.
    total: int | None = None

    def note(self, obj: Any, id_field: str) -> None:
        key = (
            (obj.get("country_code"), obj.get("party_id"), obj.get(id_field))
            if isinstance(obj, dict)
            else None
        )
        if key is not None and all(isinstance(v, str) and v for v in key):
            self.seen.add((ci(key[0]), ci(key[1]), ci(key[2])))
        else:
            self.unnamed += 1


def _retire_unlisted(
    connection: PartnerConnection,
    retire: Retire,
    listed: _Listed,
    result: PullResult,
    started_at: dt.datetime,
) -> None:
    """A complete full pull: retire what the partner no longer lists, unless the list looks
    unreliable (then nothing is retired and the reason is recorded)."""
    reason = ""
    if result.received == 0:
        held = retire(connection, set(), started_at=started_at, dry_run=True)
        if held:
            # An empty list while we hold live objects is more likely a partner bug.
            reason = f"the partner listed no {result.module} while we hold {held}"
    elif listed.unnamed:
        reason = f"{listed.unnamed} listed object(s) had no readable identity"
    if reason:
        result.retire_skipped = f"Nothing retired: {reason}."
        result.errors.insert(0, result.retire_skipped)
        return
    with transaction.atomic():
        result.retired = retire(connection, listed.seen, started_at=started_at)


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
        "retired": result.retired,
    }
    state.last_error = "\n".join(result.errors)[:5000]
    if result.completed:
        state.last_success_started_at = started_at
    state.save()
    audit_event_record(
        connection_id=state.connection_id,
        verb="pull.completed" if result.completed else "pull.incomplete",
        object_type=result.module,
        message=f"Pulled {result.module}: {result.stored} stored, {result.rejected} rejected, "
        f"{result.retired} retired, {result.pages} pages"
        + ("" if result.completed else f"; {result.errors[0]}")
        + (f"; {result.retire_skipped}" if result.retire_skipped else ""),
        data=state.last_counts,
    )
    return result


def retire_reason(connection: PartnerConnection) -> str:
    """The history reason of an object a full pull retired."""
    return f"Not listed in a full pull from {connection}"[:100]


def unlisted_pks(
    model: type[Model],
    *,
    connection: PartnerConnection,
    role: str,
    started_at: dt.datetime,
    seen: set[tuple[str, str, str]],
    key_fields: tuple[str, str, str],
    **filters: Any,
) -> list[int]:
    """For a retire hook: primary keys of `model` rows owned by the connection's `role` parties,
    older than the run (a push that crossed the pull is kept), whose (country_code, party_id,
    id) key — read from `key_fields` — the full pull did not list."""
    rows = model.objects.filter(
        owner__connection=connection,
        owner__is_own=False,
        owner__role=role,
        last_updated__lt=started_at,
        **filters,
    ).values_list("pk", *key_fields)
    return [pk for pk, *key in rows if tuple(key) not in seen]


def pull_connections_for(module: str) -> list[PartnerConnection]:
    """Connected partners that announce a Sender interface for the module."""
    return [
        c
        for c in PartnerConnection.objects.filter(status=PartnerConnection.Status.CONNECTED)
        if c.endpoint_url(module, "SENDER")
    ]
