"""A tap at one of our stations decided: the CPO side's authorization of a driver's token.

The chargers app (OCPP Authorize / StartTransaction) and the OCPI commands app (START_SESSION)
ask `token_authorize_at_station`; it decides by the token's OCPI whitelist rule, asking the
token's eMSP in real time (POST tokens/{uid}/authorize) where the rule says so, and records every
decision. Its own module because those floors import it and nothing else of the tokens services.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.utils import timezone

from apps.audit.services import audit_row_append
from apps.partners.clients import partner_client
from apps.partners.models import PartnerConnection, Party, Role
from echargo.ocpi.client import OcpiClientError
from echargo.ocpi.routing import ci
from echargo.ocpi.status import OcpiStatus

from . import selectors
from .models import AllowedType, AuthorizationDecision, Token, TokenType, WhitelistType
from .wire import AuthorizationInfoSerializer


@dataclass(frozen=True)
class TapDecision:
    allowed: str  # an AllowedType, or "" when the token is unknown
    source: str
    authorization_reference: str
    token: Token | None
    detail: str

    @property
    def may_charge(self) -> bool:
        return self.allowed == AllowedType.ALLOWED


class _NoAnswer(Exception):
    """The eMSP gave no usable answer; `unreachable` when it could not be reached at all."""

    def __init__(self, message: str, *, unreachable: bool) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class _UnknownAtEmsp(Exception):
    pass


def _realtime_timeout() -> float:
    # Chargers give up after about 20 s; a driver should not wait more than a few seconds.
    return max(0.1, min(float(settings.TOKENS_REALTIME_TIMEOUT), 5.0))


def _ask_emsp(
    *, owner: Party, uid: str, type: str, location_id: str, evse_uid: str | None, timeout: float
) -> dict[str, Any]:
    """POST .../tokens/{uid}/authorize at the token's eMSP; the validated AuthorizationInfo."""
    connection = owner.connection
    base = connection.endpoint_url("tokens", "SENDER") if connection else None
    if connection is None or connection.status != PartnerConnection.Status.CONNECTED or not base:
        raise _NoAnswer(f"No connected tokens Sender for {owner}.", unreachable=True)
    our_cpo = Party.objects.filter(is_own=True, role=Role.CPO).first()
    url = f"{base.rstrip('/')}/{quote(uid, safe='')}/authorize"
    body = {"location_id": location_id, **({"evse_uids": [evse_uid]} if evse_uid else {})}
    options: dict[str, Any] = {
        # Connect fast or not at all; the read budget is the configured timeout. No retries:
        # the driver is waiting.
        "timeout": (min(1.0, timeout), timeout),
        "retries": False,
        "to_party": (owner.country_code, owner.party_id),
    }
    if our_cpo is not None:
        options["from_party"] = (our_cpo.country_code, our_cpo.party_id)
    try:
        with partner_client(connection, **options) as client:
            result = client.request("POST", url, params={"type": type}, body=body, module="tokens")
    except OcpiClientError as exc:
        if exc.status_code == OcpiStatus.UNKNOWN_TOKEN or exc.http_status == 404:
            raise _UnknownAtEmsp(str(exc)) from exc
        cause = exc.__cause__
        unreachable = isinstance(cause, requests.ConnectionError | requests.Timeout)
        raise _NoAnswer(str(exc), unreachable=unreachable) from exc
    answer = AuthorizationInfoSerializer(data=result.data)
    if not answer.is_valid():
        raise _NoAnswer(f"Invalid AuthorizationInfo: {answer.errors}", unreachable=False)
    return answer.validated_data


def _local(token: Token) -> str:
    return AllowedType.ALLOWED if token.valid else AllowedType.BLOCKED


def token_authorize_at_station(
    *,
    uid: str,
    type: str = TokenType.RFID,
    location_id: str,
    evse_uid: str | None = None,
    emsp: tuple[str, str] | None = None,
) -> TapDecision:
    """Decide a tap at one of our stations, and record the decision.

    By the token's whitelist rule (OCPI 2.2.1 WhitelistType): ALWAYS answers locally; ALLOWED
    asks the eMSP and falls back to the local answer when it gives no usable answer in time;
    ALLOWED_OFFLINE falls back only when the eMSP is unreachable (connection failed or timed
    out) — an eMSP that answers with an error is online, so the tap is refused; NEVER only ever
    takes the eMSP's answer. A token we do not hold is asked of its eMSP when `emsp` (country_code,
    party_id — e.g. from the contract id) names a connected partner. Our own driver's token (our
    eMSP issued it) is decided here and now: we are its eMSP, so its `valid` is the answer.
    """
    started = time.perf_counter()
    token = selectors.token_partner_for_tap(uid=uid, type=type)
    own = None
    if token is None and emsp is None:
        own = selectors.token_own_for_tap(uid=uid, type=type)
    owner = token.owner if token else _emsp_party(emsp)
    source = AuthorizationDecision.Source
    allowed, how, reference, detail = "", source.UNKNOWN, "", "Unknown token."
    if own is not None:
        token = own
        allowed, how, detail = _local(own), source.LOCAL, "Our own driver's token."
    elif token is not None and token.whitelist == WhitelistType.ALWAYS:
        allowed, how, detail = _local(token), source.LOCAL, "Whitelist ALWAYS."
    elif owner is not None:
        try:
            answer = _ask_emsp(
                owner=owner,
                uid=uid,
                type=type,
                location_id=location_id,
                evse_uid=evse_uid,
                timeout=_realtime_timeout(),
            )
        except _UnknownAtEmsp:
            detail = f"{owner} does not know this token."
        except _NoAnswer as exc:
            detail = f"No answer from {owner}: {exc}"[:255]
            rule = token.whitelist if token else WhitelistType.NEVER
            if rule == WhitelistType.ALLOWED or (
                rule == WhitelistType.ALLOWED_OFFLINE and exc.unreachable
            ):
                allowed, how = _local(token), source.FALLBACK
            else:
                how = source.UNAVAILABLE
        else:
            allowed, how = answer["allowed"], source.REALTIME
            reference = answer.get("authorization_reference") or ""
            detail = ((answer.get("info") or {}).get("text") or "")[:255]
    decision = TapDecision(
        allowed=allowed, source=how, authorization_reference=reference, token=token, detail=detail
    )
    audit_row_append(
        AuthorizationDecision,
        created_at=timezone.now(),
        side=AuthorizationDecision.Side.CPO,
        token_id=token.pk if token else None,
        uid=uid[:36],
        type=type,
        connection_id=owner.connection_id if owner else None,
        location_id=location_id,
        evse_uids=[evse_uid] if evse_uid else [],
        allowed=allowed,
        source=how,
        authorization_reference=reference,
        latency_ms=(time.perf_counter() - started) * 1000,
        detail=detail,
    )
    return decision


def _emsp_party(emsp: tuple[str, str] | None) -> Party | None:
    if emsp is None:
        return None
    return (
        Party.objects.filter(
            country_code=ci(emsp[0]), party_id=ci(emsp[1]), role=Role.EMSP, is_own=False
        )
        .select_related("connection")
        .first()
    )
