"""Every write to locations: partners' pushes and pulls (eMSP side), our own changes (CPO side).

eMSP side (the receiver recipe of echargo/ocpi/receiver.py): `location_put_from_partner`,
`evse_put_from_partner`, `connector_put_from_partner`, `location_patch_from_partner`,
`location_store_pulled`, `location_retire_unlisted`.
CPO side (our own locations, pushed to partners through the outbox in the same transaction):
`location_upsert_own`, `evse_upsert_own`, `location_patch_own`, `evse_patch_own`,
`evse_status_set`, `connector_patch_own`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.audit.services import audit_event_record
from apps.partners.models import PartnerConnection, Party, Role
from apps.partners.pull import retire_reason, unlisted_pks
from echargo.history import change_reason_set
from echargo.ocpi.exceptions import InvalidParameters, OcpiError
from echargo.ocpi.fields import LastUpdatedField
from echargo.ocpi.receiver import Outcome, Write, first_write_race_safe, is_stale
from echargo.ocpi.routing import ci
from echargo.ocpi.status import OcpiStatus
from echargo.ocpi.wire import validated

from . import selectors, store
from .models import EVSE, Location, Status
from .push import location_audience, location_push, location_push_patch
from .visibility import visibility_refresh
from .wire import ConnectorIn, EVSEIn, LocationIn


class UnknownLocation(OcpiError):
    """OCPI 2.2.1 status 2003: the Location an EVSE or Connector belongs to is not known."""

    status_code = OcpiStatus.UNKNOWN_LOCATION
    default_message = "Unknown location."


PARTNER_REASON = "OCPI push or pull from the CPO"


def _evse_row(location: Location, evse_uid: str) -> EVSE | None:
    return next((e for e in location.evses.all() if e.uid_key == ci(evse_uid)), None)


def _locked_or_unknown(owner: Party, location_id: str) -> Location:
    location = selectors.location_locked(owner.country_code, owner.party_id, location_id)
    if location is None:
        raise UnknownLocation(
            f"Unknown location {owner.country_code}*{owner.party_id} {location_id}."
        )
    return location


def _unknown_evse(evse_uid: str) -> InvalidParameters:
    return InvalidParameters(f"Unknown EVSE {evse_uid} in this location.")


# --- eMSP side: a partner CPO pushes or we pull ------------------------------------------------


@first_write_race_safe
def location_put_from_partner(*, owner: Party, data: dict[str, Any]) -> Write[Location]:
    """Store a whole Location (validated LocationIn data) of a partner CPO; EVSEs it no longer
    lists are kept with status REMOVED."""
    location = selectors.location_locked(owner.country_code, owner.party_id, data["id"])
    if location is not None and is_stale(data["last_updated"], location.last_updated):
        return Write(Outcome.STALE, location, changed=False)
    outcome = Outcome.CREATED if location is None else Outcome.REPLACED
    location, changed = store.sync_location(
        owner=owner, location=location, data=data, now=None, reason=PARTNER_REASON
    )
    return Write(outcome, store.render(location), changed=changed)


@first_write_race_safe
def evse_put_from_partner(
    *, owner: Party, location_id: str, data: dict[str, Any]
) -> Write[Location]:
    """Store one EVSE (validated EVSEIn data) under a location we already hold (else 2003)."""
    location = _locked_or_unknown(owner, location_id)
    current = _evse_row(location, data["uid"])
    if current is not None and is_stale(data["last_updated"], current.last_updated):
        return Write(Outcome.STALE, location, changed=False)
    position = current.position if current else len(location.evses.all())
    evse, changed = store.sync_evse(
        location, current, data, position=position, now=None, reason=PARTNER_REASON
    )
    store.bump_last_updated(location, evse.last_updated, PARTNER_REASON)
    outcome = Outcome.CREATED if current is None else Outcome.REPLACED
    return Write(outcome, store.render(location), changed=changed)


@first_write_race_safe
def connector_put_from_partner(
    *, owner: Party, location_id: str, evse_uid: str, data: dict[str, Any]
) -> Write[Location]:
    """Store one Connector (validated ConnectorIn data) under an EVSE we already hold."""
    location = _locked_or_unknown(owner, location_id)
    evse = _evse_row(location, evse_uid)
    if evse is None:
        raise _unknown_evse(evse_uid)
    connectors = list(evse.connectors.all())
    current = next((c for c in connectors if c.connector_key == ci(data["id"])), None)
    if current is not None and is_stale(data["last_updated"], current.last_updated):
        return Write(Outcome.STALE, location, changed=False)
    position = current.position if current else len(connectors)
    changed = store.sync_connector(
        evse, current, data, position=position, now=None, reason=PARTNER_REASON
    )
    store.bump_last_updated(evse, data["last_updated"], PARTNER_REASON)
    store.bump_last_updated(location, data["last_updated"], PARTNER_REASON)
    outcome = Outcome.CREATED if current is None else Outcome.REPLACED
    return Write(outcome, store.render(location), changed=changed)


def _patch_time(patch: dict[str, Any]) -> dt.datetime:
    # OCPI 2.2.1 transport: every PATCH to a Locations receiver carries last_updated (2001).
    if patch.get("last_updated") is None:
        raise InvalidParameters("A PATCH must contain last_updated.")
    try:
        return LastUpdatedField().run_validation(patch["last_updated"])
    except ValidationError as exc:
        detail = exc.detail[0] if isinstance(exc.detail, list) else exc.detail
        raise InvalidParameters(f"last_updated: {detail}") from None


@transaction.atomic
def location_patch_from_partner(
    *,
    owner: Party,
    location_id: str,
    evse_uid: str | None,
    connector_id: str | None,
    patch: dict[str, Any],
) -> Write[Location]:
    """Apply a partial update to a Location, EVSE or Connector of a partner CPO.

    The patch is merged into the stored object and the result validated as a whole object, so a
    PATCH can never leave an invalid object behind. Parents' last_updated follow the child.
    """
    when = _patch_time(patch)
    location = _locked_or_unknown(owner, location_id)
    doc = store.document(location)
    if evse_uid is None:
        if is_stale(when, location.last_updated):
            return Write(Outcome.STALE, location, changed=False)
        data = validated(LocationIn, {**doc, **patch})
        store.sync_location(
            owner=owner, location=location, data=data, now=None, reason=PARTNER_REASON
        )
        return Write(Outcome.UPDATED, store.render(location))

    evse = _evse_row(location, evse_uid)
    evse_doc = store.find_evse(doc, evse_uid)
    if evse is None or evse_doc is None:
        raise _unknown_evse(evse_uid)
    if connector_id is None:
        if is_stale(when, evse.last_updated):
            return Write(Outcome.STALE, location, changed=False)
        data = validated(EVSEIn, {**evse_doc, **patch})
        store.sync_evse(
            location, evse, data, position=evse.position, now=None, reason=PARTNER_REASON
        )
    else:
        connector = next(
            (c for c in evse.connectors.all() if c.connector_key == ci(connector_id)), None
        )
        connector_doc = store.find_connector(evse_doc, connector_id)
        if connector is None or connector_doc is None:
            raise InvalidParameters(f"Unknown connector {connector_id} in this EVSE.")
        if is_stale(when, connector.last_updated):
            return Write(Outcome.STALE, location, changed=False)
        data = validated(ConnectorIn, {**connector_doc, **patch})
        store.sync_connector(
            evse, connector, data, position=connector.position, now=None, reason=PARTNER_REASON
        )
        store.bump_last_updated(evse, when, PARTNER_REASON)
    store.bump_last_updated(location, when, PARTNER_REASON)
    return Write(Outcome.UPDATED, store.render(location))


def location_store_pulled(connection: PartnerConnection, obj: dict[str, Any]) -> None:
    """Pull handler: validate one Location from a partner's Sender list and store it like a PUT."""
    data = validated(LocationIn, obj)
    owner = selectors.location_partner_cpo(connection, data["country_code"], data["party_id"])
    if owner is None:
        raise ValidationError(f"{data['country_code']}*{data['party_id']} is not a CPO here.")
    location_put_from_partner(owner=owner, data=data)


@transaction.atomic
def location_retire_unlisted(
    connection: PartnerConnection,
    seen: set[tuple[str, str, str]],
    *,
    started_at: dt.datetime,
    dry_run: bool = False,
) -> int:
    """Retire the connection's partner locations a complete full pull did not list (pull hook).

    OCPI 2.2.1 never deletes a Location: every EVSE becomes REMOVED and the location is no
    longer published, saved row by row so history keeps the change. The partner's last_updated
    stays its version stamp (a REMOVED EVSE takes the location's, as when a PUT drops it): were
    it our clock, the partner listing the same version again would be ignored as stale instead
    of bringing the location back. Locations changed since `started_at` (a push that crossed
    the pull) and those already retired are left alone. How many were (or would be) retired.
    """
    reason = retire_reason(connection)
    unlisted = unlisted_pks(
        Location,
        connection=connection,
        role=Role.CPO,
        started_at=started_at,
        seen=seen,
        key_fields=("country_code", "party_id", "location_key"),
    )
    retired = 0
    for location in selectors.location_with_children(
        Location.objects.select_for_update().filter(pk__in=unlisted).order_by("pk")
    ):
        live = [evse for evse in location.evses.all() if evse.status != Status.REMOVED]
        if not live and not location.publish:
            continue
        retired += 1
        if dry_run:
            continue
        for evse in live:
            evse.status = Status.REMOVED
            evse.last_updated = max(evse.last_updated, location.last_updated)
            change_reason_set(evse, reason)
            evse.save()
        if location.publish:
            location.publish = False
            change_reason_set(location, reason)
            location.save()
        store.render(location)
    return retired


# --- CPO side: our own locations ----------------------------------------------------------------

OWN_REASON = "Changed by our operator"


def _require_own(owner: Party) -> None:
    if not (owner.is_own and owner.role == Role.CPO):
        raise ValidationError(f"{owner} is not one of our CPO parties.")


def _stamped(data: Any, now: dt.datetime) -> Any:
    """One object with a last_updated. Our own objects get theirs from our clock (store.sync_*
    with `now`), never from the caller; this one only satisfies the wire validation."""
    return {**data, "last_updated": now.isoformat()} if isinstance(data, dict) else data


def _stamp_evse(data: Any, now: dt.datetime) -> Any:
    if not isinstance(data, dict):
        return data
    connectors = data.get("connectors")
    if isinstance(connectors, list):
        data = {**data, "connectors": [_stamped(c, now) for c in connectors]}
    return _stamped(data, now)


def _own_data(owner: Party, data: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    data = {**data, "country_code": owner.country_code, "party_id": owner.party_id}
    evses = data.get("evses") or []
    if isinstance(evses, list):
        data["evses"] = [_stamp_evse(e, now) for e in evses]
    return _stamped(data, now)


@transaction.atomic
def location_upsert_own(
    *, owner: Party, data: dict[str, Any], reason: str = OWN_REASON
) -> Location:
    """Create or replace one of our locations from an OCPI Location dict, and push it.

    `data` needs no country_code/party_id/last_updated (taken from `owner` and the clock).
    EVSEs left out are kept as REMOVED. Partners that may see it get a PUT in the outbox; so do
    partners that could see it before a change of publish, so they learn to hide it.
    """
    _require_own(owner)
    now = timezone.now()
    valid = validated(LocationIn, _own_data(owner, data, now))
    location = selectors.location_locked(owner.country_code, owner.party_id, valid["id"])
    before = location_audience(location) if location is not None else []
    location, changed = store.sync_location(
        owner=owner, location=location, data=valid, now=now, reason=reason
    )
    if not changed:
        return location
    visibility_refresh(location)
    location = store.render(location)
    _published(location, "stored whole", reason, location_push(location, also=before))
    return location


@transaction.atomic
def evse_upsert_own(
    *, location: Location, data: dict[str, Any], reason: str = OWN_REASON
) -> Location:
    """Add or replace one EVSE (OCPI EVSE dict with its connectors) of our location, and push."""
    locked = _locked_or_unknown(location.owner, location.location_id)
    doc = store.document(locked)
    uid = str(data.get("uid", ""))
    evses = list(doc.get("evses", []))
    current = store.find_evse(doc, uid)
    if current is None:
        evses.append(data)
    else:
        evses[evses.index(current)] = data
    return location_upsert_own(owner=locked.owner, data={**doc, "evses": evses}, reason=reason)


def _removes_data(changes: dict[str, Any]) -> bool:
    # OCPI 2.2.1: a PATCH cannot remove a field; such a change goes out as a PUT.
    return any(value in (None, "", []) for value in changes.values())


def _patch_body(changes: dict[str, Any], rendered: dict[str, Any]) -> dict[str, Any]:
    body = {key: rendered[key] for key in changes if key in rendered}
    body["last_updated"] = rendered["last_updated"]
    return body


def _published(location: Location, what: str, reason: str, partners: int) -> None:
    """The business event of a change staff (or an import) made to one of our locations, as the
    tariffs and tokens apps record theirs; field-level changes are in the rows' history. EVSE
    status changes from our chargers are left to that history: they come every few minutes."""
    audit_event_record(
        verb="location.published",
        object_type="locations",
        object_key=location.ocpi_path,
        message=f"Location {location.location_id}: {what} ({reason}); pushed to {partners} "
        "partner(s).",
    )


@transaction.atomic
def location_patch_own(
    *, location: Location, changes: dict[str, Any], reason: str = OWN_REASON
) -> Location:
    """Change some top-level fields of our location; partners get a PATCH (or a PUT when the
    change touches EVSEs, visibility, or removes a field)."""
    if {"evses", "publish", "publish_allowed_to"} & changes.keys() or _removes_data(changes):
        doc = store.document(location)
        return location_upsert_own(owner=location.owner, data={**doc, **changes}, reason=reason)
    _require_own(location.owner)
    now = timezone.now()
    locked = _locked_or_unknown(location.owner, location.location_id)
    data = validated(
        LocationIn, _own_data(locked.owner, {**store.document(locked), **changes}, now)
    )
    locked, changed = store.sync_location(
        owner=locked.owner, location=locked, data=data, now=now, reason=reason
    )
    if not changed:
        return locked
    locked = store.render(locked)
    partners = location_push_patch(
        locked, locked.ocpi_path, _patch_body(changes, store.document(locked))
    )
    _published(locked, f"changed {', '.join(sorted(changes))}", reason, partners)
    return locked


@transaction.atomic
def evse_patch_own(
    *, location: Location, evse_uid: str, changes: dict[str, Any], reason: str = OWN_REASON
) -> EVSE:
    """Change some fields of one EVSE of our location; partners get a PATCH at its URL."""
    _require_own(location.owner)
    now = timezone.now()
    locked = _locked_or_unknown(location.owner, location.location_id)
    evse = _evse_row(locked, evse_uid)
    evse_doc = store.find_evse(store.document(locked), evse_uid)
    if evse is None or evse_doc is None:
        raise _unknown_evse(evse_uid)
    data = validated(EVSEIn, _stamp_evse({**evse_doc, **changes}, now))
    evse, changed = store.sync_evse(
        locked, evse, data, position=evse.position, now=now, reason=reason
    )
    if not changed:
        return evse
    store.bump_last_updated(locked, now, reason)
    locked = store.render(locked)
    if "connectors" in changes or _removes_data(changes):
        partners = location_push(locked)
    else:
        rendered = store.find_evse(store.document(locked), evse_uid) or {}
        partners = location_push_patch(
            locked, f"{locked.ocpi_path}/{evse.uid}", _patch_body(changes, rendered)
        )
    if changes.keys() != {"status"}:
        _published(
            locked, f"EVSE {evse.uid} changed {', '.join(sorted(changes))}", reason, partners
        )
    return evse


def evse_status_set(
    *, location: Location, evse_uid: str, status: str, reason: str = "EVSE status change"
) -> EVSE:
    """Set an EVSE's status (e.g. from the charger); partners get {"status", "last_updated"}."""
    return evse_patch_own(
        location=location, evse_uid=evse_uid, changes={"status": status}, reason=reason
    )


@transaction.atomic
def connector_patch_own(
    *,
    location: Location,
    evse_uid: str,
    connector_id: str,
    changes: dict[str, Any],
    reason: str = OWN_REASON,
) -> Location:
    """Change some fields of one connector (e.g. tariff_ids); partners get a PATCH at its URL."""
    _require_own(location.owner)
    now = timezone.now()
    locked = _locked_or_unknown(location.owner, location.location_id)
    evse = _evse_row(locked, evse_uid)
    evse_doc = store.find_evse(store.document(locked), evse_uid)
    if evse is None or evse_doc is None:
        raise _unknown_evse(evse_uid)
    connector = next(
        (c for c in evse.connectors.all() if c.connector_key == ci(connector_id)), None
    )
    connector_doc = store.find_connector(evse_doc, connector_id)
    if connector is None or connector_doc is None:
        raise InvalidParameters(f"Unknown connector {connector_id} in this EVSE.")
    data = validated(ConnectorIn, _stamped({**connector_doc, **changes}, now))
    if not store.sync_connector(
        evse, connector, data, position=connector.position, now=now, reason=reason
    ):
        return locked
    store.bump_last_updated(evse, now, reason)
    store.bump_last_updated(locked, now, reason)
    locked = store.render(locked)
    if _removes_data(changes):
        partners = location_push(locked)
    else:
        evse_rendered = store.find_evse(store.document(locked), evse_uid) or {}
        rendered = store.find_connector(evse_rendered, connector_id) or {}
        path = f"{locked.ocpi_path}/{evse.uid}/{connector.connector_id}"
        partners = location_push_patch(locked, path, _patch_body(changes, rendered))
    what = f"connector {evse.uid}/{connector.connector_id} changed {', '.join(sorted(changes))}"
    _published(locked, what, reason, partners)
    return locked
