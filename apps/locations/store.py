"""Writing validated OCPI Location data into rows, and the stored OCPI document beside them.

Used only by services.py and the CSV import (imports.py); the reads they need are in
selectors.py. Rows are saved only when a value really changed, so history shows real changes and
our own last_updated moves only when something did (OCPI 2.2.1 asks senders to bump
last_updated on change; see ocpi/ocpi#428). Two ways to stamp last_updated:

- partner data (`now` is None): each object keeps the last_updated its CPO sent;
- our own data (`now` given): an object that changed, or whose children changed, gets `now`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from apps.partners.models import Party, Role
from echargo.history import change_reason_set
from echargo.ocpi.routing import ci

from .models import EVSE, Connector, Location, Status
from .selectors import location_with_children
from .wire import connector_values, evse_values, location_document, location_values


def _differs(obj: Any, values: dict[str, Any]) -> bool:
    return any(getattr(obj, name) != value for name, value in values.items())


def _save(obj: Any, values: dict[str, Any], reason: str) -> None:
    for name, value in values.items():
        setattr(obj, name, value)
    change_reason_set(obj, reason)
    obj.save()


def _stamp(data: dict[str, Any], now: dt.datetime | None) -> dt.datetime:
    return now or data["last_updated"]


def sync_connector(
    evse: EVSE,
    connector: Connector | None,
    data: dict[str, Any],
    *,
    position: int,
    now: dt.datetime | None,
    reason: str,
) -> bool:
    """Create or update one connector; whether anything changed."""
    values = {**connector_values(data), "position": position}
    if now is None:
        values["last_updated"] = data["last_updated"]
    if connector is not None and not _differs(connector, values):
        return False
    if connector is None:
        connector = Connector(evse=evse)
    values.setdefault("last_updated", now)
    _save(connector, values, reason)
    return True


def sync_connectors(
    evse: EVSE, connectors: list[dict[str, Any]], *, now: dt.datetime | None, reason: str
) -> bool:
    """Make the EVSE's connectors exactly `connectors` (a PUT replaces the whole EVSE)."""
    existing = {c.connector_key: c for c in evse.connectors.all()} if evse.pk else {}
    changed = False
    for position, data in enumerate(connectors):
        current = existing.pop(ci(data["id"]), None)
        changed |= sync_connector(evse, current, data, position=position, now=now, reason=reason)
    for gone in existing.values():
        # Connectors have no status to mark them removed; sessions keep their ids as text.
        change_reason_set(gone, reason)
        gone.delete()
        changed = True
    return changed


def sync_evse(
    location: Location,
    evse: EVSE | None,
    data: dict[str, Any],
    *,
    position: int,
    now: dt.datetime | None,
    reason: str,
) -> tuple[EVSE, bool]:
    """Create or update one EVSE and its connectors; the EVSE and whether anything changed."""
    values = {**evse_values(data), "position": position}
    if now is None:
        values["last_updated"] = data["last_updated"]
    is_new = evse is None
    if evse is None:
        evse = EVSE(location=location)
    changed = is_new or _differs(evse, values)
    if changed:
        values.setdefault("last_updated", now)
        _save(evse, values, reason)
    if sync_connectors(evse, data["connectors"], now=now, reason=reason):
        if now is not None and evse.last_updated != now:
            _save(evse, {"last_updated": now}, reason)
        changed = True
    return evse, changed


def sync_evses(
    location: Location,
    evses: list[dict[str, Any]],
    *,
    now: dt.datetime | None,
    removed_at: dt.datetime,
    reason: str,
) -> bool:
    """Make the location's EVSEs `evses`; EVSEs not listed get status REMOVED, never deleted.

    OCPI 2.2.1 mod_locations: EVSEs are not deleted (sessions and CDRs refer to them), a
    replaced Location without an EVSE means that EVSE is gone: we keep it as REMOVED.
    """
    existing = {e.uid_key: e for e in location.evses.all()}
    changed = False
    for position, data in enumerate(evses):
        current = existing.pop(ci(data["uid"]), None)
        _, evse_changed = sync_evse(
            location, current, data, position=position, now=now, reason=reason
        )
        changed |= evse_changed
    for offset, gone in enumerate(existing.values(), start=len(evses)):
        if gone.status != Status.REMOVED or gone.position != offset:
            values = {"status": Status.REMOVED, "last_updated": removed_at, "position": offset}
            _save(gone, values, reason)
            changed = True
    return changed


def sync_location(
    *,
    owner: Party,
    location: Location | None,
    data: dict[str, Any],
    now: dt.datetime | None,
    reason: str,
) -> tuple[Location, bool]:
    """Create or replace a location and all its EVSEs; the location and whether it changed."""
    values = location_values(data)
    if now is None:
        values["last_updated"] = data["last_updated"]
    is_new = location is None
    if location is None:
        location = Location(
            owner=owner,
            country_code=ci(owner.country_code),
            party_id=ci(owner.party_id),
            own_cpo=owner.is_own and owner.role == Role.CPO,
        )
    changed = is_new or _differs(location, values)
    if changed:
        values.setdefault("last_updated", now)
        _save(location, values, reason)
    removed_at = _stamp(data, now)
    if sync_evses(location, data.get("evses") or [], now=now, removed_at=removed_at, reason=reason):
        if now is not None and location.last_updated != now:
            _save(location, {"last_updated": now}, reason)
        changed = True
    return location, changed


def bump_last_updated(obj: Location | EVSE, when: dt.datetime, reason: str) -> None:
    """A child changed: the parent's last_updated follows (OCPI 2.2.1 mod_locations).

    Never moved backwards: a late, older child update must not hide newer parent changes from
    date_from filtering.
    """
    if obj.last_updated is None or obj.last_updated < when:
        _save(obj, {"last_updated": when}, reason)


def render(location: Location) -> Location:
    """Re-read the location with its children and store its OCPI JSON beside it."""
    fresh = location_with_children(Location.objects.filter(pk=location.pk)).get()
    fresh.ocpi_json = json.dumps(location_document(fresh), separators=(",", ":"))
    # ocpi_json is derived (and excluded from history): storing it is not a change of its own.
    fresh.skip_history_when_saving = True
    fresh.save(update_fields=["ocpi_json"])
    del fresh.skip_history_when_saving
    return fresh


def document(location: Location) -> dict[str, Any]:
    """The stored OCPI JSON of a location as a dict."""
    return json.loads(location.ocpi_json) if location.ocpi_json else {}


def find_evse(doc: dict[str, Any], evse_uid: str) -> dict[str, Any] | None:
    return next((e for e in doc.get("evses", []) if ci(e["uid"]) == ci(evse_uid)), None)


def find_connector(evse_doc: dict[str, Any], connector_id: str) -> dict[str, Any] | None:
    return next(
        (c for c in evse_doc.get("connectors", []) if ci(c["id"]) == ci(connector_id)), None
    )
