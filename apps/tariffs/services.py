"""Tariff operations in both roles (OCPI 2.2.1 mod_tariffs; the CPO owns tariffs).

CPO side (our tariffs): create, replace and delete them; every change is pushed (PUT / DELETE)
through the outbox to each connected eMSP partner in the same transaction, and served by our
Sender list. eMSP side (partners' tariffs, the receiver recipe of echargo/ocpi/receiver.py):
store what partners PUT to our Receiver or what we pull from their Sender, keeping the newer
version when an older one arrives late.

Every write renders the tariff's OCPI document once and stores it beside the rows (`ocpi_json`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.audit.services import audit_event_record
from apps.partners.models import PartnerConnection, Party, Role
from apps.partners.pull import retire_reason, unlisted_pks
from echargo.history import change_reason_set
from echargo.ocpi.fields import format_ocpi_datetime
from echargo.ocpi.receiver import Outcome, Write, first_write_race_safe, is_stale
from echargo.ocpi.routing import ci
from echargo.ocpi.wire import ocpi_dumps, ocpi_loads

from . import selectors
from .models import PriceComponent, Tariff, TariffElement, TariffRestrictions
from .push import MODULE, tariff_push
from .wire import TariffSerializer, tariff_document

# Our own ids travel in partners' URL paths: keep them to URL-unreserved characters (RFC 3986),
# which every router takes as they are.
OWN_TARIFF_ID = re.compile(r"^[A-Za-z0-9._~-]{1,36}$")


# --- Rows ----------------------------------------------------------------------------------------


def _locked(owner: Party, tariff_id: str) -> Tariff | None:
    return (
        Tariff.objects.select_for_update().filter(owner=owner, tariff_id_key=ci(tariff_id)).first()
    )


def _restrictions_row(element: TariffElement, r: Mapping[str, Any]) -> TariffRestrictions:
    return TariffRestrictions(
        element=element,
        start_time=r.get("start_time") or "",
        end_time=r.get("end_time") or "",
        start_date=r.get("start_date") or "",
        end_date=r.get("end_date") or "",
        min_kwh=r.get("min_kwh"),
        max_kwh=r.get("max_kwh"),
        min_current=r.get("min_current"),
        max_current=r.get("max_current"),
        min_power=r.get("min_power"),
        max_power=r.get("max_power"),
        min_duration=r.get("min_duration"),
        max_duration=r.get("max_duration"),
        day_of_week=list(r.get("day_of_week") or []),
        reservation=r.get("reservation") or "",
    )


def _replace_elements(tariff: Tariff, elements: list[dict[str, Any]], reason: str) -> None:
    # Row by row, not bulk: simple-history records through save/delete signals only.
    for element in TariffElement.objects.filter(tariff=tariff):
        change_reason_set(element, reason)
        element.delete()
    for position, element_doc in enumerate(elements):
        element = TariffElement(tariff=tariff, position=position)
        change_reason_set(element, reason)
        element.save()
        for index, c in enumerate(element_doc["price_components"]):
            component = PriceComponent(
                element=element,
                position=index,
                type=c["type"],
                price=c["price"],
                vat=c.get("vat"),
                step_size=c["step_size"],
            )
            change_reason_set(component, reason)
            component.save()
        if "restrictions" in element_doc:
            restrictions = _restrictions_row(element, element_doc["restrictions"])
            change_reason_set(restrictions, reason)
            restrictions.save()


def _write(
    existing: Tariff | None, *, owner: Party, document: dict[str, Any], data: Mapping, reason: str
) -> Tariff:
    """Store `document` (the canonical OCPI form of `data`) in the rows and as `ocpi_json`."""
    tariff = existing or Tariff(owner=owner)
    old_elements = ocpi_loads(existing.ocpi_json)["elements"] if existing else None
    min_price, max_price = document.get("min_price") or {}, document.get("max_price") or {}
    tariff.tariff_id = document["id"]
    tariff.currency = document["currency"]
    tariff.type = document.get("type", "")
    tariff.tariff_alt_text = document.get("tariff_alt_text", [])
    tariff.tariff_alt_url = document.get("tariff_alt_url", "")
    tariff.min_price_excl_vat = min_price.get("excl_vat")
    tariff.min_price_incl_vat = min_price.get("incl_vat")
    tariff.max_price_excl_vat = max_price.get("excl_vat")
    tariff.max_price_incl_vat = max_price.get("incl_vat")
    tariff.start_date_time = data.get("start_date_time")
    tariff.end_date_time = data.get("end_date_time")
    tariff.energy_mix = document.get("energy_mix")
    tariff.last_updated = data["last_updated"]
    tariff.ocpi_json = ocpi_dumps(document)
    change_reason_set(tariff, reason)
    tariff.save()
    # Element rows are rewritten only when the elements changed, so their history shows real
    # changes, not every re-send of the same tariff.
    if old_elements != document["elements"]:
        _replace_elements(tariff, document["elements"], reason)
    return tariff


def _same_content(existing: Tariff, document: Mapping[str, Any]) -> bool:
    held = ocpi_loads(existing.ocpi_json)
    held.pop("last_updated", None)
    return held == {k: v for k, v in document.items() if k != "last_updated"}


# --- CPO side: our own tariffs -------------------------------------------------------------------


def _own_cpo(owner: Party | None) -> Party:
    if owner is None:
        parties = list(Party.objects.filter(is_own=True, role=Role.CPO)[:2])
        if len(parties) != 1:
            raise ValidationError("Name the owner: we host no CPO party, or more than one.")
        return parties[0]
    if not (owner.is_own and owner.role == Role.CPO):
        raise ValidationError(f"{owner} is not a CPO party we host; its tariffs are not ours.")
    return owner


def _now_ms() -> Any:
    # OCPI DateTimes carry at most milliseconds here: store what partners will read back.
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _validated_own(
    data: Mapping[str, Any], owner: Party, now: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate one of our tariffs as if a partner had sent it; (validated data, document)."""
    if not isinstance(data, Mapping):
        raise ValidationError("A tariff is an OCPI Tariff object.")
    for field, value in (("country_code", owner.country_code), ("party_id", owner.party_id)):
        given = data.get(field)
        if given is not None and (not isinstance(given, str) or ci(given) != value):
            raise ValidationError({field: f"Our tariffs belong to {owner}."})
    serializer = TariffSerializer(
        data={
            **data,
            "country_code": owner.country_code,
            "party_id": owner.party_id,
            "last_updated": format_ocpi_datetime(now),
        }
    )
    serializer.is_valid(raise_exception=True)
    validated = {**serializer.validated_data, "last_updated": now}
    if not OWN_TARIFF_ID.match(validated["id"]):
        raise ValidationError({"id": "Our tariff ids use letters, digits and . _ ~ - only."})
    document = tariff_document(validated)
    # Imported here: the receiver and sender never need the engine, only our own tariffs do.
    from .pricing import TariffError, compile_tariff

    try:
        compile_tariff(document)
    except TariffError as exc:
        raise ValidationError({"elements": f"Our pricing engine cannot price it: {exc}"}) from exc
    return validated, document


def tariff_validate_own(*, data: Mapping[str, Any], owner: Party | None = None) -> dict[str, Any]:
    """Check a tariff as `tariff_upsert_own` would, without storing it; its OCPI document."""
    return _validated_own(data, _own_cpo(owner), _now_ms())[1]


@first_write_race_safe
def tariff_upsert_own(
    *, data: Mapping[str, Any], owner: Party | None = None, reason: str = "Changed by staff"
) -> Write[Tariff]:
    """Create or replace one of our tariffs and push it (PUT) to every connected eMSP partner.

    `data` is an OCPI Tariff object; country_code/party_id may be left out (they are the
    owner's), last_updated is set here when the content changed. `owner` defaults to the one
    CPO party we host. Raises ValidationError for anything we would refuse from a partner, and
    for a tariff our pricing engine cannot price.
    """
    owner = _own_cpo(owner)
    validated, document = _validated_own(data, owner, _now_ms())
    existing = _locked(owner, validated["id"])
    if existing is not None and _same_content(existing, document):
        return Write(Outcome.REPLACED, existing, changed=False)
    tariff = _write(existing, owner=owner, document=document, data=validated, reason=reason)
    partners = tariff_push(tariff, method="PUT", body=document)
    audit_event_record(
        verb="tariff.published",
        object_type=MODULE,
        object_key=tariff.object_key,
        message=f"Tariff {tariff} {'created' if existing is None else 'changed'} ({reason}); "
        f"pushed to {len(partners)} eMSP partner(s).",
        data={"connections": [c.pk for c in partners]},
    )
    return Write(Outcome.CREATED if existing is None else Outcome.REPLACED, tariff)


@transaction.atomic
def tariff_delete_own(*, tariff: Tariff, reason: str = "Deleted by staff") -> None:
    """Retire one of our tariffs: delete it and push a DELETE to every connected eMSP partner.

    OCPI 2.2.1 advises to first make sure no Connector still names it in `tariff_ids`.
    """
    _own_cpo(tariff.owner)
    key = tariff.object_key
    partners = tariff_push(tariff, method="DELETE", body=None)
    change_reason_set(tariff, reason)
    tariff.delete()
    audit_event_record(
        verb="tariff.deleted",
        object_type=MODULE,
        object_key=key,
        message=f"Tariff {key} deleted ({reason}); DELETE pushed to {len(partners)} eMSP "
        "partner(s).",
        data={"connections": [c.pk for c in partners]},
    )


# --- eMSP side: partners' tariffs ----------------------------------------------------------------


@first_write_race_safe
def tariff_put_from_partner(
    *, owner: Party, data: Mapping[str, Any], reason: str = "Received from partner"
) -> Write[Tariff]:
    """Store a partner's tariff (receiver PUT or pull) unless we hold a newer version.

    `data` is TariffSerializer-validated and belongs to `owner`, a partner's CPO party. A
    version whose last_updated is older than ours is not applied (STALE): pushes and pulls can
    cross, and the newer data wins.
    """
    if owner.is_own:
        raise ValidationError("A partner cannot write our own tariffs.")
    if (ci(data["country_code"]), ci(data["party_id"])) != (owner.country_code, owner.party_id):
        raise ValidationError("country_code/party_id differ from the owner's.")
    existing = _locked(owner, data["id"])
    if existing is not None and is_stale(data["last_updated"], existing.last_updated):
        return Write(Outcome.STALE, existing, changed=False)
    document = tariff_document(
        {**data, "country_code": owner.country_code, "party_id": owner.party_id}
    )
    if existing is not None and ocpi_loads(existing.ocpi_json) == document:
        return Write(Outcome.REPLACED, existing, changed=False)
    tariff = _write(existing, owner=owner, document=document, data=data, reason=reason)
    return Write(Outcome.CREATED if existing is None else Outcome.REPLACED, tariff)


@transaction.atomic
def tariff_delete_from_partner(
    *, owner: Party, tariff_id: str, reason: str = "Deleted by partner"
) -> bool:
    """Delete a partner's tariff (receiver DELETE); False when we did not hold it."""
    if owner.is_own:
        raise ValidationError("A partner cannot delete our own tariffs.")
    tariff = selectors.tariff_of_owner(owner=owner, tariff_id=tariff_id)
    if tariff is None:
        return False
    change_reason_set(tariff, reason)
    tariff.delete()
    return True


def tariff_store_pulled(connection: PartnerConnection, obj: dict[str, Any]) -> None:
    """Pull handler: validate one tariff from a partner's Sender list and store it.

    Raises ValidationError when the object is invalid or not owned by a CPO of the connection.
    """
    serializer = TariffSerializer(data=obj)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    owner = selectors.tariff_partner_cpo(
        connection=connection, country_code=data["country_code"], party_id=data["party_id"]
    )
    if owner is None:
        raise ValidationError(
            f"{data['country_code']}*{data['party_id']} is not a CPO party of {connection}."
        )
    tariff_put_from_partner(owner=owner, data=data, reason=f"Pulled from {connection}")


@transaction.atomic
def tariff_retire_unlisted(
    connection: PartnerConnection,
    seen: set[tuple[str, str, str]],
    *,
    started_at: dt.datetime,
    dry_run: bool = False,
) -> int:
    """Delete the connection's partner tariffs a complete full pull did not list (pull hook).

    The same deletion as the partner's own DELETE to our Receiver. Tariffs changed since
    `started_at` (a push that crossed the pull) are kept. How many were (or would be) deleted.
    """
    reason = retire_reason(connection)
    unlisted_ids = unlisted_pks(
        Tariff,
        connection=connection,
        role=Role.CPO,
        started_at=started_at,
        seen=seen,
        key_fields=("owner__country_code", "owner__party_id", "tariff_id_key"),
    )
    if dry_run:
        return len(unlisted_ids)
    unlisted = Tariff.objects.filter(pk__in=unlisted_ids).select_related("owner").order_by("pk")
    return sum(
        tariff_delete_from_partner(owner=t.owner, tariff_id=t.tariff_id, reason=reason)
        for t in unlisted
    )
