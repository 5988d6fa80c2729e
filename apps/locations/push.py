"""Pushing our own locations to connected eMSPs through the outbox (OCPI 2.2.1 push model).

Every message about one location shares the outbox object key CC/PID/LOCATION_ID, so a
location's PUTs and its EVSE/connector PATCHes reach a partner in the order they were made.
Our PUTs are always whole-location PUTs: the outbox lets a PUT supersede the undelivered
messages of its object, which is only right when the PUT carries everything they carried.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from apps.partners.models import OutboxMessage, PartnerConnection, Role
from apps.partners.outbox import outbox_enqueue

from .models import Location

MODULE = "locations"
RECEIVER = "RECEIVER"


def location_receiving_connections() -> list[PartnerConnection]:
    """Connected partners with an eMSP party that announce a locations Receiver endpoint."""
    connections = PartnerConnection.objects.filter(
        status=PartnerConnection.Status.CONNECTED, parties__role=Role.EMSP
    ).distinct()
    return [c for c in connections if c.endpoint_url(MODULE, RECEIVER)]


def location_audience(location: Location) -> list[PartnerConnection]:
    """The partners that may receive this location now (publish / publish_allowed_to)."""
    connections = location_receiving_connections()
    if location.publish:
        return connections
    allowed = set(location.visible_to.values_list("connection_id", flat=True))
    return [c for c in connections if c.pk in allowed]


def location_push_body(location: Location) -> Any:
    return json.loads(location.ocpi_json, parse_float=Decimal)


def location_push(location: Location, *, also: Iterable[PartnerConnection] = ()) -> int:
    """PUT the whole location to its audience, and to `also` (partners that saw it before and
    must learn it is no longer published). How many partners it was queued for."""
    targets = {c.pk: c for c in [*location_audience(location), *also]}
    body = location_push_body(location)
    for connection in targets.values():
        _enqueue(connection, location, "PUT", location.ocpi_path, body)
    return len(targets)


def location_push_to(connection: PartnerConnection | None, locations: Iterable[Location]) -> int:
    """PUT whole locations to one partner that has just come to see them (a token or a party
    matched their publish_allowed_to), when it takes location pushes. How many were queued.

    Their last_updated has not changed, so a partner that pulls with date_from would not
    find them; the push tells a pushed-to partner at once."""
    if (
        connection is None
        or connection.status != PartnerConnection.Status.CONNECTED
        or not connection.endpoint_url(MODULE, RECEIVER)
    ):
        return 0
    count = 0
    for location in locations:
        _enqueue(connection, location, "PUT", location.ocpi_path, location_push_body(location))
        count += 1
    return count


def location_push_patch(location: Location, path: str, body: dict[str, Any]) -> int:
    """PATCH a small change (e.g. an EVSE status) at `path` to the location's audience."""
    targets = location_audience(location)
    for connection in targets:
        if _other_patch_pending(connection, location, path):
            # The outbox merges a PATCH into the pending PATCH of the same object whatever its
            # path; a different EVSE's change must not be merged into it, so send everything.
            _enqueue(connection, location, "PUT", location.ocpi_path, location_push_body(location))
        else:
            _enqueue(connection, location, "PATCH", path, body)
    return len(targets)


def _other_patch_pending(connection: PartnerConnection, location: Location, path: str) -> bool:
    last = (
        OutboxMessage.objects.select_for_update()
        .filter(
            connection=connection,
            module=MODULE,
            object_key=location.ocpi_path,
            status=OutboxMessage.Status.PENDING,
        )
        .order_by("pk")
        .last()
    )
    return last is not None and last.method == "PATCH" and last.path != path


def _enqueue(
    connection: PartnerConnection, location: Location, method: str, path: str, body: Any
) -> None:
    outbox_enqueue(
        connection=connection,
        module=MODULE,
        object_key=location.ocpi_path,
        method=method,
        path=path,
        body=body,
    )
