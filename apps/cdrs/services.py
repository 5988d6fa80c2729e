"""CDR operations, both roles.

CPO side (ours): a completed session becomes its CDR (`cdr_create_from_session`, on the
sessions app's `session_completed`), every line total from the tariff engine with the tariff
that was in force at the session's start (`Session.tariff_json`), and is queued for delivery
by POST to the token's eMSP through the outbox, in the same transaction. The `Location`
header the eMSP answers with is kept (`cdr_location_header_store`, the outbox's delivered
hook). A correction never changes a CDR: staff issue a credit CDR and/or a replacement
(`cdr_correct`), sent the way the partner wants (CdrPartnerPolicy).

eMSP side (partners'): `cdr_post_from_partner` stores a CDR a CPO POSTs or we pull, once:
the same CDR again is acknowledged and changes nothing; another CDR under a stored id is
refused (CDRs are immutable, OCPI 2.2.1 mod_cdrs).
"""

from __future__ import annotations

import json
import logging
import uuid
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.audit.services import audit_event_record
from apps.locations.models import Connector
from apps.partners.models import OutboxMessage, PartnerConnection, Party, Role
from apps.partners.outbox import outbox_enqueue
from apps.partners.selectors import connection_party_or_unknown
from apps.sessions.models import Session
from apps.sessions.services import session_flag
from apps.tariffs.pricing import ChargingPeriodInput, PricingResult, compile_tariff, price_periods
from apps.tokens.models import Token
from echargo.history import change_reason_set
from echargo.ocpi.client import OcpiResult
from echargo.ocpi.exceptions import InvalidParameters
from echargo.ocpi.fields import parse_ocpi_datetime
from echargo.ocpi.receiver import first_write_race_safe
from echargo.ocpi.wire import ocpi_dumps, ocpi_loads

from .models import PRICE_FIELDS, Cdr, CdrPartnerPolicy, CorrectionMode
from .signals import cdr_created, cdr_received
from .wire import CDR_DIMENSIONS, cdr_document, cdr_to_ocpi, cdr_validated, cdr_values

logger = logging.getLogger(__name__)

MODULE = "cdrs"
FOUR = Decimal("0.0001")
SIX = Decimal("0.000001")


class CdrError(Exception):
    """A CDR could not be made or corrected; the message says why (for staff)."""


# --- CPO side: our CDRs ------------------------------------------------------------------------


def _cdr_location(session: Session) -> dict[str, Any]:
    """The OCPI CdrLocation of the session's connector, from our Location rows."""
    connector = (
        Connector.objects.select_related("evse__location")
        .filter(
            evse__location__owner=session.owner,
            evse__location__location_key=session.location_id.upper(),
            evse__uid_key=session.evse_uid.upper(),
            connector_key=session.connector_id.upper(),
        )
        .first()
    )
    if connector is None:
        raise CdrError(
            f"Connector {session.location_id}/{session.evse_uid}/{session.connector_id} is not "
            "one of our locations' any more."
        )
    evse, location = connector.evse, connector.evse.location
    where: dict[str, Any] = {
        "id": location.location_id,
        "name": location.name,
        # CdrLocation keeps mod_cdrs' 45 characters where Location now allows 255.
        "address": location.address[:45],
        "city": location.city,
        "postal_code": location.postal_code,
        "state": location.state[:20],
        "country": location.country,
        "coordinates": {"latitude": location.latitude, "longitude": location.longitude},
        "evse_uid": evse.uid,
        "evse_id": evse.evse_id or evse.uid,
        "connector_id": connector.connector_id,
        "connector_standard": connector.standard,
        "connector_format": connector.format,
        "connector_power_type": connector.power_type,
    }
    return {k: v for k, v in where.items() if v != ""}


def _cdr_periods(periods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A session's charging periods without the dimensions a CDR may not carry (mod_cdrs)."""
    out = []
    for period in periods:
        dimensions = [d for d in period["dimensions"] if d["type"] in CDR_DIMENSIONS]
        if dimensions:
            out.append({**period, "dimensions": dimensions})
    return out


def _priced(
    tariff: dict[str, Any], periods: list[dict[str, Any]], end: Any, time_zone: str
) -> PricingResult:
    return price_periods(
        tariff=compile_tariff(tariff),
        periods=[
            ChargingPeriodInput(
                start_date_time=parse_ocpi_datetime(p["start_date_time"]),
                dimensions={d["type"]: Decimal(str(d["volume"])) for d in p["dimensions"]},
            )
            for p in periods
        ],
        end_date_time=end,
        time_zone=time_zone,
    )


def _totals(result: PricingResult) -> dict[str, Any]:
    """The CDR's total columns from the engine: every line total, not only total_cost."""
    values: dict[str, Any] = {
        "total_energy": result.total_energy.quantize(FOUR),
        "total_time": result.total_time.quantize(SIX),
        "total_parking_time": result.total_parking_time.quantize(SIX),
    }
    for name in PRICE_FIELDS:
        price = getattr(result, name)
        values[f"{name}_excl_vat"] = None if price is None else price.excl_vat
        values[f"{name}_incl_vat"] = None if price is None else price.incl_vat
    return values


def _render(cdr: Cdr) -> None:
    cdr.ocpi_json = ocpi_dumps(cdr_to_ocpi(cdr))


def _emsp_of(cdr: Cdr) -> Party | None:
    """The partner eMSP party the CDR's token belongs to; None for our own drivers."""
    if cdr.token is not None:
        owner = cdr.token.owner
        return None if owner.is_own or owner.connection_id is None else owner
    return (
        Party.objects.filter(
            country_code=cdr.token_country_code,
            party_id=cdr.token_party_id,
            role=Role.EMSP,
            is_own=False,
            connection__isnull=False,
        )
        .select_related("connection")
        .first()
    )


def _deliver(cdr: Cdr, emsp: Party) -> OutboxMessage:
    """Queue the POST of our CDR to the eMSP's CDR receiver (OCPI 2.2.1 mod_cdrs); billing
    messages are never coalesced and are retried until the partner acknowledges them."""
    connection = emsp.connection
    if connection is None:  # _emsp_of returns partner parties with a connection only
        raise CdrError(f"{emsp} has no connection to deliver to.")
    return outbox_enqueue(
        connection=connection,
        module=MODULE,
        object_key=f"{cdr.country_code}/{cdr.party_id}/{cdr.cdr_id}",
        method="POST",
        path="",
        body=ocpi_loads(cdr.ocpi_json),
        kind=OutboxMessage.Kind.BILLING,
        to_party=(emsp.country_code, emsp.party_id),
    )


@transaction.atomic
def cdr_create_from_session(*, session: Session) -> Cdr:
    """Our CDR of a completed session, priced by the engine, and its delivery queued.

    A second call for the same session returns the CDR it made (its id is the session's).
    """
    held = Cdr.objects.filter(
        owner=session.owner, cdr_key=session.session_id.upper(), received_from__isnull=True
    ).first()
    if held is not None:
        return held
    if not session.tariff_json:
        raise CdrError("No tariff was in force at the session's start: it cannot be priced.")
    if session.end_date_time is None:
        raise CdrError("The session has no end time.")
    tariff = json.loads(session.tariff_json, parse_float=Decimal)
    periods = _cdr_periods(session.charging_periods)
    if not periods:
        raise CdrError("The session has no charging period.")
    try:
        result = _priced(tariff, periods, session.end_date_time, session.time_zone)
    except ValueError as exc:  # PricingError
        raise CdrError(f"The session could not be priced: {exc}") from exc
    now = timezone.now()
    cdr = Cdr(
        owner=session.owner,
        country_code=session.country_code,
        party_id=session.party_id,
        cdr_id=session.session_id,
        start_date_time=session.start_date_time,
        end_date_time=session.end_date_time,
        session_id=session.session_id,
        token=session.token,
        token_country_code=session.token_country_code,
        token_party_id=session.token_party_id,
        token_uid=session.token_uid,
        token_type=session.token_type,
        token_contract_id=session.token_contract_id,
        auth_method=session.auth_method,
        authorization_reference=session.authorization_reference,
        meter_id=session.meter_id,
        currency=result.currency or session.currency,
        tariffs=[json.loads(session.tariff_json)],
        charging_periods=periods,
        remark=session.stop_reason,
        last_updated=now,
        charging_session=session,
        **_totals(result),
    )
    where = _cdr_location(session)
    cdr.cdr_location = where
    _set_location_columns(cdr, where)
    _render(cdr)
    change_reason_set(cdr, "Created from the completed session")
    cdr.save()
    emsp = _emsp_of(cdr)
    if emsp is not None:
        _deliver(cdr, emsp)
    cdr_created.send(sender=Cdr, cdr=cdr)
    return cdr


def _set_location_columns(cdr: Cdr, where: dict[str, Any]) -> None:
    cdr.location_id = where["id"]
    cdr.location_name = where.get("name", "")
    cdr.location_address = where["address"]
    cdr.location_city = where["city"]
    cdr.location_postal_code = where.get("postal_code", "")
    cdr.location_state = where.get("state", "")
    cdr.location_country = where["country"]
    cdr.evse_uid = where["evse_uid"]
    cdr.evse_id = where["evse_id"]
    cdr.connector_id = where["connector_id"]
    cdr.connector_standard = where["connector_standard"]
    cdr.connector_format = where["connector_format"]
    cdr.connector_power_type = where["connector_power_type"]


def on_session_completed(sender: Any, session: Session, **kwargs: Any) -> None:
    """session_completed receiver: make the CDR in the stop's transaction; never fail the stop.

    Anything that goes wrong is rolled back to a savepoint and flagged on the session for staff
    (apps/sessions/signals.py): the charger's stop must stand.
    """
    try:
        with transaction.atomic():
            cdr_create_from_session(session=session)
    except Exception as exc:
        logger.exception("No CDR for session %s", session.pk)
        session_flag(session=session, note=f"No CDR was made: {exc}")


def cdr_location_header_store(message: OutboxMessage, result: OcpiResult) -> None:
    """Outbox delivered hook: keep the `Location` the eMSP answered our CDR POST with."""
    if message.method != "POST":
        return
    location = (result.headers.get("Location") or "").strip()[:512]
    country_code, party_id, cdr_id = message.object_key.split("/", 2)
    Cdr.objects.filter(
        country_code=country_code,
        party_id=party_id,
        cdr_key=cdr_id.upper(),
        received_from__isnull=True,
    ).update(location_header=location)


# --- Corrections -------------------------------------------------------------------------------


def _copy(original: Cdr, **changes: Any) -> Cdr:
    fields = {
        f.attname: getattr(original, f.attname)
        for f in Cdr._meta.concrete_fields
        if f.attname not in ("id", "cdr_key", "created_at", "location_header", "ocpi_json")
    }
    cdr = Cdr(**{**fields, **changes})
    _render(cdr)
    return cdr


def _negated(cdr: Cdr) -> dict[str, Any]:
    values = {}
    for name in PRICE_FIELDS:
        for part in ("excl_vat", "incl_vat"):
            value = getattr(cdr, f"{name}_{part}")
            values[f"{name}_{part}"] = None if value is None else -value
    return values


def _repriced(cdr: Cdr) -> dict[str, Any]:
    """The CDR's totals priced again by the engine from its own periods and tariff."""
    if not cdr.tariffs:
        raise CdrError("The CDR carries no tariff to price it again with.")
    tariff = json.loads(json.dumps(cdr.tariffs[0]), parse_float=Decimal)
    time_zone = cdr.charging_session.time_zone if cdr.charging_session else "UTC"
    try:
        return _totals(_priced(tariff, cdr.charging_periods, cdr.end_date_time, time_zone))
    except ValueError as exc:
        raise CdrError(f"The CDR could not be priced again: {exc}") from exc


def correction_mode(connection: PartnerConnection | None) -> str:
    if connection is None:
        return CorrectionMode.CREDIT_AND_NEW
    policy = CdrPartnerPolicy.objects.filter(connection=connection).first()
    return policy.correction if policy else CorrectionMode.CREDIT_AND_NEW


@transaction.atomic
def cdr_correct(
    *,
    cdr: Cdr,
    replace: bool,
    changes: dict[str, Any] | None = None,
    reason: str,
) -> tuple[Cdr, Cdr | None]:
    """Correct one of our CDRs without changing it (OCPI 2.2.1 mod_cdrs): a credit CDR
    (credit=true, credit_reference_id = its id, the amounts negated) and, with `replace`, a new
    CDR with a new id, re-priced by the engine (or with `changes` to its columns).

    Both are stored (our books net to the replacement); what is sent follows the partner's
    CdrPartnerPolicy: both, or only the new CDR for partners that ignore credit CDRs.
    """
    cdr = Cdr.objects.select_for_update().get(pk=cdr.pk)
    if cdr.received_from_id is not None:
        raise CdrError("Only our own CDRs can be corrected; a partner corrects its own.")
    if cdr.credit:
        raise CdrError("A credit CDR is not corrected.")
    if Cdr.objects.filter(
        owner=cdr.owner, credit=True, credit_reference_id__iexact=cdr.cdr_id
    ).exists():
        raise CdrError(f"CDR {cdr.cdr_id} has been credited already.")
    emsp = _emsp_of(cdr)
    mode = correction_mode(emsp.connection if emsp else None)
    if mode == CorrectionMode.NEW_ONLY and not replace:
        raise CdrError("This partner takes no credit CDRs: issue a replacement CDR.")
    now = timezone.now()
    credit = _copy(
        cdr,
        cdr_id=f"{cdr.cdr_id}-C",
        credit=True,
        credit_reference_id=cdr.cdr_id,
        invoice_reference_id="",
        last_updated=now,
        **_negated(cdr),
    )
    change_reason_set(credit, f"Credit of {cdr.cdr_id}: {reason}"[:100])
    credit.save()
    replacement = None
    if replace:
        values = _repriced(cdr) if changes is None else changes
        new_id = f"{cdr.cdr_id[:27]}-{uuid.uuid4().hex[:8].upper()}"
        replacement = _copy(cdr, cdr_id=new_id, last_updated=now, **values)
        change_reason_set(replacement, f"Replaces {cdr.cdr_id}: {reason}"[:100])
        replacement.save()
    if emsp is not None:
        if mode == CorrectionMode.CREDIT_AND_NEW:
            _deliver(credit, emsp)
        if replacement is not None:
            _deliver(replacement, emsp)
    for made in (credit, replacement):
        if made is not None:
            cdr_created.send(sender=Cdr, cdr=made)
    audit_event_record(
        connection_id=emsp.connection_id if emsp else None,
        verb="cdr.corrected",
        object_type=MODULE,
        object_key=f"{cdr.country_code}/{cdr.party_id}/{cdr.cdr_id}",
        message=f"Credit CDR {credit.cdr_id}"
        + (f" and replacement {replacement.cdr_id}" if replacement else "")
        + f" issued ({mode}): {reason}",
    )
    return credit, replacement


# --- eMSP side: partners' CDRs ---------------------------------------------------------------


def _without_version(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "last_updated"}


@first_write_race_safe
def cdr_post_from_partner(
    *, connection: PartnerConnection, data: dict[str, Any], reason: str
) -> tuple[Cdr, bool]:
    """Store a partner CPO's CDR once; (the stored CDR, whether it is new).

    The same CDR again (any last_updated: senders re-stamp retries) changes nothing and is
    answered like the first; a different CDR under a stored id is refused (2001), stored data
    unchanged. The CDR's owner must be a CPO party of the calling connection.
    """
    owner = connection_party_or_unknown(
        connection=connection,
        country_code=data["country_code"],
        party_id=data["party_id"],
        role=Role.CPO,
    )
    document = cdr_document(data)
    held = (
        Cdr.objects.select_for_update()
        .filter(
            country_code=owner.country_code, party_id=owner.party_id, cdr_key=data["id"].upper()
        )
        .first()
    )
    if held is not None:
        if _without_version(ocpi_loads(held.ocpi_json)) != _without_version(document):
            raise InvalidParameters(
                f"A different CDR {held.cdr_id} is stored already; CDRs are immutable "
                "(OCPI 2.2.1 mod_cdrs): correct it with a credit CDR and a new id."
            )
        return held, False
    values = cdr_values(data)
    token = Token.objects.filter(
        owner__is_own=True,
        country_code=values["token_country_code"],
        party_id=values["token_party_id"],
        uid_key=values["token_uid"].upper(),
        type=values["token_type"],
    ).first()
    session = None
    if values["session_id"]:
        session = Session.objects.filter(
            country_code=owner.country_code,
            party_id=owner.party_id,
            session_key=values["session_id"].upper(),
        ).first()
    cdr = Cdr(
        owner=owner,
        token=token,
        charging_session=session,
        received_from=connection,
        received_at=timezone.now(),
        ocpi_json=ocpi_dumps(document),
        **values,
    )
    change_reason_set(cdr, reason[:100])
    cdr.save()
    cdr_received.send(sender=Cdr, cdr=cdr)
    return cdr, True


def cdr_store_pulled(connection: PartnerConnection, obj: dict[str, Any]) -> None:
    """Pull handler: validate one CDR from a CPO's list and store it if it is new."""
    data = cdr_validated(obj)
    try:
        cdr_post_from_partner(connection=connection, data=data, reason=f"Pulled from {connection}")
    except InvalidParameters as exc:
        raise ValidationError(str(exc)) from exc


def cdr_receiver_url(cdr: Cdr) -> str:
    """The path of our GET for a stored partner CDR (the POST's `Location`)."""
    return reverse(
        "ocpi-emsp-cdr",
        kwargs={"country_code": cdr.country_code, "party_id": cdr.party_id, "cdr_id": cdr.cdr_id},
    )
