"""Token operations in both roles.

eMSP side (our drivers): issue, change and block tokens, pushed to every CPO partner through the
outbox; answer partners' real-time authorization requests.
CPO side (partners' drivers): store tokens partners push or we pull (the receiver recipe of
echargo/ocpi/receiver.py). A tap at our station is decided in station_authorization.py.
"""

from __future__ import annotations

import copy
import datetime as dt
import secrets
import time
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.audit.services import audit_event_record, audit_row_append
from apps.partners.models import PartnerConnection, Party, Role
from apps.partners.pull import retire_reason, unlisted_pks
from apps.partners.selectors import connection_party_or_unknown
from echargo.history import change_reason_set
from echargo.ocpi.exceptions import OcpiError, UnknownObject
from echargo.ocpi.fields import format_ocpi_datetime
from echargo.ocpi.receiver import Outcome, Write, first_write_race_safe, is_stale
from echargo.ocpi.routing import ci
from echargo.ocpi.status import OcpiStatus

from . import selectors
from .models import AllowedType, AuthorizationDecision, Token, TokenType, WhitelistType
from .push import token_push
from .signals import partner_token_stored
from .wire import TokenSerializer, authorization_info, token_to_ocpi

# Fields a PATCH may carry besides last_updated; country_code/party_id/uid/type are identity.
MUTABLE_FIELDS = (
    "contract_id",
    "visual_number",
    "issuer",
    "group_id",
    "valid",
    "whitelist",
    "language",
    "default_profile_type",
    "energy_contract",
)


class UnknownToken(OcpiError):
    """OCPI 2.2.1 tokens: real-time authorization of an unknown token is HTTP 404 + 2004."""

    status_code = OcpiStatus.UNKNOWN_TOKEN
    http_status = 404
    default_message = "Unknown token."


def _apply(token: Token, data: dict[str, Any], *, replace: bool) -> None:
    """Copy OCPI fields onto the row; a PUT (replace) resets omitted optional fields."""
    for field in MUTABLE_FIELDS:
        if field in data:
            value = data[field]
            setattr(token, field, value if value is not None or field == "energy_contract" else "")
        elif replace:
            setattr(token, field, None if field == "energy_contract" else "")
    if "last_updated" in data:
        token.last_updated = data["last_updated"]


# --- eMSP side: our drivers' tokens ---------------------------------------------------------------


@transaction.atomic
def token_issue_own(
    *,
    owner: Party,
    uid: str,
    type: str = TokenType.RFID,
    contract_id: str,
    issuer: str,
    whitelist: str = WhitelistType.ALLOWED,
    valid: bool = True,
    **optional: Any,
) -> Token:
    """Issue a token to one of our drivers and push it (PUT) to every CPO partner."""
    if not (owner.is_own and owner.role == Role.EMSP):
        raise ValidationError("Tokens are issued by one of our own eMSP parties.")
    if selectors.token_of_partner(owner=owner, uid=uid, type=type) is not None:
        raise ValidationError(f"Token {type} {uid} already exists for {owner}.")
    token = Token(
        owner=owner,
        country_code=owner.country_code,
        party_id=owner.party_id,
        uid=uid,
        type=type,
        last_updated=timezone.now(),
    )
    _apply(
        token,
        {
            "contract_id": contract_id,
            "issuer": issuer,
            "whitelist": whitelist,
            "valid": valid,
            **optional,
        },
        replace=True,
    )
    _validate(token)
    change_reason_set(token, "Issued by staff")
    token.save()
    partners = token_push(token, method="PUT", body=token_to_ocpi(token))
    audit_event_record(
        verb="token.issued",
        object_type="token",
        object_key=token.object_key,
        message=f"Token {token} issued; pushed to {partners} CPO partner(s).",
    )
    return token


@transaction.atomic
def token_update_own(
    *, token: Token, changes: dict[str, Any], reason: str = "Changed by staff"
) -> Token:
    """Change one of our tokens and push it: PATCH for valid/whitelist, PUT otherwise."""
    if not token.owner.is_own:
        raise ValidationError("Only our own drivers' tokens can be changed here.")
    unknown = set(changes) - set(MUTABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Cannot change {sorted(unknown)}.")
    changed = {k: v for k, v in changes.items() if getattr(token, k) != v}
    if not changed:
        return token
    token.last_updated = timezone.now()
    _apply(token, changed, replace=False)
    _validate(token)
    change_reason_set(token, reason)
    token.save()
    if set(changed) <= {"valid", "whitelist"}:
        body = {**changed, "last_updated": format_ocpi_datetime(token.last_updated)}
        partners = token_push(token, method="PATCH", body=body)
    else:
        partners = token_push(token, method="PUT", body=token_to_ocpi(token))
    verb = "token.blocked" if changed.get("valid") is False else "token.changed"
    audit_event_record(
        verb=verb,
        object_type="token",
        object_key=token.object_key,
        message=f"Token {token}: {reason} ({', '.join(sorted(changed))}); "
        f"pushed to {partners} CPO partner(s).",
    )
    return token


def token_block_own(*, token: Token, reason: str = "Blocked by staff") -> Token:
    """Block a driver's token everywhere: valid=false, pushed to every CPO partner."""
    return token_update_own(token=token, changes={"valid": False}, reason=reason)


def _validate(token: Token) -> None:
    """Our own tokens must be as valid on the wire as the ones we accept from partners."""
    serializer = TokenSerializer(data=token_to_ocpi(token))
    serializer.is_valid(raise_exception=True)


def _decision_record(**values: Any) -> None:
    """Log one authorization decision: an append-only row per tap (see apps/audit/log_writer)."""
    audit_row_append(AuthorizationDecision, created_at=timezone.now(), **values)


def _new_authorization_reference() -> str:
    """32 hex digits, unique and time-ordered: milliseconds since the epoch, then 80 random bits
    (the layout of a version 7 UUID). Ordered keys land at the end of the reference index;
    random ones (uuid4) would each dirty a different index page, a whole page written to the
    WAL after every checkpoint."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.randbits(80):020x}"


def token_authorize_for_partner(
    *, connection: PartnerConnection, uid: str, type: str, location: dict[str, Any] | None
) -> dict[str, Any]:
    """POST tokens/{uid}/authorize: a partner CPO asks about our driver; AuthorizationInfo.

    We do not refuse on opening hours or EVSE status (our copy may be stale, OCPI 2.2.1 tokens);
    a blocked token is BLOCKED. Raises UnknownToken (HTTP 404 + 2004) for a token we do not know.
    """
    started = time.perf_counter()
    token = selectors.token_own_for_tap(uid=uid, type=type)
    reference = "" if token is None else _new_authorization_reference()
    allowed = "" if token is None else (AllowedType.ALLOWED if token.valid else AllowedType.BLOCKED)
    _decision_record(
        side=AuthorizationDecision.Side.EMSP,
        token_id=token.pk if token else None,
        uid=uid[:36],
        type=type,
        connection_id=connection.pk,
        location_id=(location or {}).get("location_id", ""),
        evse_uids=(location or {}).get("evse_uids") or [],
        allowed=allowed,
        source=AuthorizationDecision.Source.LOCAL
        if token
        else AuthorizationDecision.Source.UNKNOWN,
        authorization_reference=reference,
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    if token is None:
        raise UnknownToken(f"Unknown token {type} {uid}.")
    info = "Charging allowed." if token.valid else "This token is blocked."
    return authorization_info(
        allowed=allowed,
        token=token,
        location=location,
        authorization_reference=reference,
        info=info,
    )


# --- CPO side: partners' drivers' tokens ---------------------------------------------------


def _locked(owner: Party, uid: str, type: str) -> Token | None:
    return Token.objects.select_for_update().filter(owner=owner, uid_key=ci(uid), type=type).first()


@first_write_race_safe
def token_put_from_partner(*, owner: Party, data: dict[str, Any], reason: str) -> Write[Token]:
    """Store a complete Token (TokenSerializer-validated) of `owner`, a partner eMSP party, that
    it pushed (PUT) or we pulled.

    A version older than the one we hold is not applied (STALE): pushes and pulls can cross,
    and the newer state must win (OCPI 2.2.1 transport: last_updated).
    """
    if (ci(data["country_code"]), ci(data["party_id"])) != (owner.country_code, owner.party_id):
        raise ValidationError("country_code/party_id differ from the owner's.")
    token = _locked(owner, data["uid"], data["type"])
    if token is not None and is_stale(data["last_updated"], token.last_updated):
        return Write(Outcome.STALE, token, changed=False)
    outcome = Outcome.CREATED if token is None else Outcome.REPLACED
    before = None if token is None else copy.copy(token)
    if token is None:
        token = Token(owner=owner, uid=data["uid"], type=data["type"])
    token.uid = data["uid"]
    _apply(token, data, replace=True)
    change_reason_set(token, reason)
    token.save()
    partner_token_stored.send(sender=Token, token=token, before=before)
    return Write(outcome, token)


@transaction.atomic
def token_patch_from_partner(
    *, owner: Party, uid: str, type: str, data: dict[str, Any], reason: str
) -> Write[Token]:
    """Apply a partner's PATCH (TokenPatchSerializer-validated) to a token of `owner` we hold
    (UnknownObject, HTTP 404, otherwise); an older last_updated than ours is STALE."""
    token = _locked(owner, uid, type)
    if token is None:
        raise UnknownObject("Unknown token: PUT it first.")
    if is_stale(data["last_updated"], token.last_updated):
        return Write(Outcome.STALE, token, changed=False)
    before = copy.copy(token)
    _apply(
        token,
        {k: v for k, v in data.items() if k in (*MUTABLE_FIELDS, "last_updated")},
        replace=False,
    )
    change_reason_set(token, reason)
    token.save()
    partner_token_stored.send(sender=Token, token=token, before=before)
    return Write(Outcome.UPDATED, token)


def token_store_pulled(connection: PartnerConnection, obj: dict[str, Any]) -> None:
    """Pull handler: validate one Token from an eMSP's list and store it."""
    serializer = TokenSerializer(data=obj)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    owner = connection_party_or_unknown(
        connection=connection,
        country_code=data["country_code"],
        party_id=data["party_id"],
        role=Role.EMSP,
    )
    token_put_from_partner(owner=owner, data=data, reason=f"Pulled from {connection}")


@transaction.atomic
def token_retire_unlisted(
    connection: PartnerConnection,
    seen: set[tuple[str, str, str]],
    *,
    started_at: dt.datetime,
    dry_run: bool = False,
) -> int:
    """Make invalid the connection's partner tokens a complete full pull did not list (pull hook).

    A token its eMSP no longer lists must not be authorized locally (whitelist fallback).
    Identity here is (country_code, party_id, uid): a uid listed with any type keeps all its
    tokens. The partner's last_updated stays its version stamp, so listing the same version
    again makes the token valid again. Tokens changed since `started_at` (a push that crossed
    the pull) are kept. How many were (or would be) made invalid.
    """
    reason = retire_reason(connection)
    unlisted = unlisted_pks(
        Token,
        connection=connection,
        role=Role.EMSP,
        started_at=started_at,
        seen=seen,
        key_fields=("country_code", "party_id", "uid_key"),
        valid=True,
    )
    if dry_run:
        return len(unlisted)
    tokens = Token.objects.select_related("owner").select_for_update(of=("self",))
    for token in tokens.filter(pk__in=unlisted).order_by("pk"):
        before = copy.copy(token)
        token.valid = False
        change_reason_set(token, reason)
        token.save()
        partner_token_stored.send(sender=Token, token=token, before=before)
    return len(unlisted)
