"""eMSP side of sessions: what CPO partners send of our drivers' sessions (mod_sessions Receiver),
stored in the same table as ours, owned by the partner's CPO party.

The receiver recipe of echargo/ocpi/receiver.py: a PUT creates or replaces (charging_periods too),
a PATCH changes the fields it carries and *appends* the charging_periods it carries (OCPI 2.2.1
mod_sessions, Receiver PATCH), and an update older than what we hold is acknowledged, not
applied, so a retried or reordered PATCH can neither roll a session back nor add its periods
twice.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.locations.models import Location
from apps.partners.models import PartnerConnection, Party, Role
from apps.tokens.models import Token
from echargo.history import change_reason_set, history_skip_next_save
from echargo.ocpi.exceptions import InvalidParameters, UnknownObject
from echargo.ocpi.receiver import Outcome, Write, first_write_race_safe, is_stale
from echargo.ocpi.routing import ci
from echargo.ocpi.wire import validated

from .models import Session
from .wire import SessionSerializer, charging_periods_stored, session_columns


def _locked(owner: Party, session_id: str) -> Session | None:
    return (
        Session.objects.select_for_update()
        .filter(
            country_code=owner.country_code, party_id=owner.party_id, session_key=ci(session_id)
        )
        .first()
    )


def _our_token(data: dict[str, Any]) -> Token | None:
    """Our driver's token the session names, when it is one of ours."""
    token = data["cdr_token"]
    return Token.objects.filter(
        owner__is_own=True,
        owner__role=Role.EMSP,
        country_code=ci(token["country_code"]),
        party_id=ci(token["party_id"]),
        uid_key=ci(token["uid"]),
        type=token["type"],
    ).first()


def _station_zone(owner: Party, location_id: str) -> str:
    """The zone of the partner's location as we hold it (staff read times in it), or ''."""
    zone = (
        Location.objects.filter(
            country_code=owner.country_code,
            party_id=owner.party_id,
            location_key=ci(location_id),
        )
        .values_list("time_zone", flat=True)
        .first()
    )
    return zone or ""


@first_write_race_safe
def session_put_from_partner(*, owner: Party, data: dict[str, Any], reason: str) -> Write[Session]:
    """Create or replace a partner CPO's session, charging periods included."""
    held = _locked(owner, data["id"])
    if held is not None and is_stale(data["last_updated"], held.last_updated):
        return Write(Outcome.STALE, held, changed=False)
    session = held or Session(
        owner=owner,
        country_code=owner.country_code,
        party_id=owner.party_id,
        session_id=data["id"],
        time_zone="",
    )
    for name, value in session_columns(data).items():
        setattr(session, name, value)
    if "end_date_time" not in data:
        session.end_date_time = None
    if "total_cost" not in data:
        session.total_cost_excl_vat = session.total_cost_incl_vat = None
    session.charging_periods = charging_periods_stored(data.get("charging_periods") or [])
    session.token = _our_token(data)
    if not session.time_zone:
        session.time_zone = _station_zone(owner, data["location_id"])
    change_reason_set(session, reason[:100])
    session.save()
    return Write(Outcome.CREATED if held is None else Outcome.REPLACED, session)


@transaction.atomic
def session_patch_from_partner(
    *, owner: Party, session_id: str, data: dict[str, Any], reason: str
) -> Write[Session]:
    """Apply a partner CPO's PATCH: the fields it carries, its charging periods appended."""
    held = _locked(owner, session_id)
    if held is None:
        raise UnknownObject(f"Unknown session {session_id}.")
    if data.get("id") not in (None, held.session_id) and ci(data["id"]) != held.session_key:
        raise InvalidParameters("The id in the body is not the session's.")
    if is_stale(data["last_updated"], held.last_updated):
        return Write(Outcome.STALE, held, changed=False)
    if data["last_updated"] == held.last_updated and "charging_periods" in data:
        # The same version again: a retried delivery. Applying it would append its periods
        # a second time.
        return Write(Outcome.UPDATED, held, changed=False)
    columns = session_columns(data)
    for name, value in columns.items():
        setattr(held, name, value)
    if data.get("charging_periods"):
        held.charging_periods = [
            *held.charging_periods,
            *charging_periods_stored(data["charging_periods"]),
        ]
    if "cdr_token" in data:
        held.token = _our_token(data)
    if data.keys() <= _READING_KEYS:
        # A meter reading (a CPO sends one every few seconds): like ours, it writes only what it
        # carries and keeps no history row; the events that change what a session is (status,
        # token, periods, the stop) keep theirs.
        history_skip_next_save(held)
        held.save(update_fields=list(columns))
    else:
        change_reason_set(held, reason[:100])
        held.save()
    return Write(Outcome.UPDATED, held)


_READING_KEYS = frozenset({"kwh", "total_cost", "last_updated"})


def session_store_pulled(connection: PartnerConnection, obj: dict[str, Any]) -> None:
    """Pull hook: a session listed by a CPO partner's Sender, stored like a PUT (stale ones are
    left alone). Sessions are never retired: a pull that does not list one says nothing."""
    data = validated(SessionSerializer, obj)
    owner = (
        Party.objects.filter(
            connection=connection,
            country_code=ci(data["country_code"]),
            party_id=ci(data["party_id"]),
            role=Role.CPO,
        )
        .select_related("connection")
        .first()
    )
    if owner is None:
        raise InvalidParameters(
            f"{data['country_code']}*{data['party_id']} is not a CPO party of {connection}."
        )
    session_put_from_partner(owner=owner, data=data, reason=f"Pulled from {connection}")
