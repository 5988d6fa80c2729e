"""Credentials handshake both ways, and the life of a partner connection.

As server (a partner registers with us): `credentials_register_from_partner`,
`credentials_update_from_partner`, `credentials_unregister_from_partner`.
As client (we register with a partner): `connection_register_with_partner`,
`connection_update_with_partner`, `connection_unregister_with_partner`.
OCPI 2.2.1 credentials.asciidoc; DIGEST.md section 2.3 for the token A -> B -> C exchange.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.services import audit_event_record
from echargo.history import change_reason_of, change_reason_set
from echargo.ocpi.client import OcpiClientError
from echargo.ocpi.exceptions import (
    InvalidParameters,
    NoMatchingEndpoints,
    OcpiError,
    UnableToUseClientApi,
    UnsupportedVersion,
)
from echargo.ocpi.registry import VERSION, versions_url
from echargo.ocpi.routing import ci
from echargo.ocpi.status import OcpiStatus
from echargo.ocpi.urlguard import UnsafeUrl, check_partner_url

from . import token_vault
from .clients import NoTokenToCallWith, connection_client, outgoing_token
from .initial_sync import initial_sync_start_all
from .models import AccessToken, PartnerConnection, Party
from .wire import CredentialsSerializer, VersionDetailsSerializer, VersionSerializer, parse_or_none


class NotRegistered(OcpiError):
    """OCPI 2.2.1 credentials: PUT/DELETE before registration, POST after it -> HTTP 405."""

    http_status = 405
    default_message = "Method not allowed in the current registration state."


class RegistrationFailed(Exception):
    """Registering with (or updating, unregistering at) a partner did not complete."""


class OwnPartyMissing(OcpiError):
    """We host no party yet, so we cannot tell a partner who we are: OCPI 2.2.1 credentials
    `roles` is 1..*. A server-side state the operator fixes (HTTP 503: try again later)."""

    status_code = OcpiStatus.SERVER_ERROR
    http_status = 503
    default_message = (
        "This platform hosts no party of its own yet, so it cannot exchange credentials: "
        "the operator runs `manage.py ocpi_party COUNTRY_CODE PARTY_ID --name NAME "
        "[--roles CPO EMSP]` first."
    )


class ConnectionNameTaken(Exception):
    """Connection names are unique (ignoring case): commands and staff name connections."""


RoleKey = tuple[str, str, str]


def _role_keys(roles: Iterable[dict[str, Any]]) -> set[RoleKey]:
    return {(r["role"], ci(r["country_code"]), ci(r["party_id"])) for r in roles}


# --- Our own parties -----------------------------------------------------------------------------


@transaction.atomic
def party_upsert_own(
    *, country_code: str, party_id: str, roles: Iterable[str], name: str, website: str = ""
) -> list[Party]:
    """Create or update the parties this platform hosts (one per role).

    A party that already reads so is left alone: running it again writes no row and no history.
    """
    parties = []
    defaults = {"name": name, "website": website, "is_own": True, "connection": None}
    for role in roles:
        key: dict[str, Any] = {
            "country_code": ci(country_code),
            "party_id": ci(party_id),
            "role": role,
        }
        party = Party.objects.filter(**key).first()
        if party is None or any(getattr(party, f) != v for f, v in defaults.items()):
            party, _ = Party.objects.update_or_create(**key, defaults=defaults)
        parties.append(party)
    return parties


def own_parties_required() -> list[Party]:
    """The parties we host; OwnPartyMissing (naming `manage.py ocpi_party`) when there are none."""
    parties = list(Party.objects.filter(is_own=True))
    if not parties:
        raise OwnPartyMissing()
    return parties


def our_credentials(token: str) -> dict[str, Any]:
    """The credentials object we hand a partner: its token, our versions URL, our roles.

    Raises OwnPartyMissing rather than send `roles: []` (OCPI 2.2.1 credentials: 1..*).
    """
    return {
        "token": token,
        "url": versions_url(),
        "roles": [
            {
                "role": party.role,
                "business_details": party.business_details,
                "party_id": party.party_id,
                "country_code": party.country_code,
            }
            for party in own_parties_required()
        ],
    }


def _name_taken(name: str, holder: PartnerConnection) -> ConnectionNameTaken:
    return ConnectionNameTaken(
        f"A connection named {holder.name!r} exists already (#{holder.pk}, {holder.status}); "
        f"names are unique: choose another one, or rename #{holder.pk} in the admin."
    )


def _create_connection(*, name: str, **fields: Any) -> PartnerConnection:
    holder = PartnerConnection.objects.filter(name__iexact=name).first()
    if holder is not None:
        raise _name_taken(name, holder)
    try:
        with transaction.atomic():
            return PartnerConnection.objects.create(name=name, **fields)
    except IntegrityError as exc:  # created meanwhile by someone else
        holder = PartnerConnection.objects.filter(name__iexact=name).first()
        if holder is None:
            raise
        raise _name_taken(name, holder) from exc


# --- Shared steps --------------------------------------------------------------------------------


def _fetch_endpoints(
    connection: PartnerConnection, *, versions_url: str, token: str
) -> list[dict[str, str]]:
    """GET the partner's versions and 2.2.1 details with `token`; its endpoint list."""
    try:
        check_partner_url(versions_url)
    except UnsafeUrl as exc:
        raise UnableToUseClientApi(str(exc)) from exc
    with connection_client(connection, token) as client:
        try:
            versions = client.get(versions_url, module="versions").data
        except OcpiClientError as exc:
            raise UnableToUseClientApi(f"GET {versions_url} failed: {exc}") from exc
        offered = parse_or_none(VersionSerializer, versions, many=True)
        if offered is None:
            raise UnableToUseClientApi(f"{versions_url} did not answer a list of versions.")
        details_url = next((v["url"] for v in offered if v["version"] == VERSION), None)
        if details_url is None:
            raise UnsupportedVersion(
                f"The partner offers {[v['version'] for v in offered]}, we speak {VERSION}."
            )
        try:
            details = client.get(details_url, module="versions").data
        except OcpiClientError as exc:
            raise UnableToUseClientApi(f"GET {details_url} failed: {exc}") from exc
    parsed = parse_or_none(VersionDetailsSerializer, details)
    if parsed is None or parsed["version"] != VERSION:
        raise UnableToUseClientApi(f"{details_url} did not answer 2.2.1 version details.")
    endpoints = [dict(e) for e in parsed["endpoints"]]
    if not any(e["identifier"] == "credentials" for e in endpoints):
        raise NoMatchingEndpoints("The partner announces no credentials endpoint.")
    return endpoints


def _check_roles_available(connection: PartnerConnection, roles: set[RoleKey]) -> None:
    """A party is ours, or carried by one live connection: never claimed twice."""
    for role, country_code, party_id in sorted(roles):
        clash = (
            Party.objects.filter(country_code=country_code, party_id=party_id, role=role)
            .exclude(connection=connection)
            .exclude(connection__status=PartnerConnection.Status.UNREGISTERED)
            .first()
        )
        if clash is not None:
            owner = "this platform" if clash.is_own else f"connection {clash.connection}"
            raise InvalidParameters(f"{clash} is already registered by {owner}.")


def _sync_parties(connection: PartnerConnection, roles: list[dict[str, Any]]) -> None:
    for role in roles:
        details = role["business_details"]
        logo = details.get("logo")
        Party.objects.update_or_create(
            country_code=ci(role["country_code"]),
            party_id=ci(role["party_id"]),
            role=role["role"],
            defaults={
                "name": details["name"],
                "website": details.get("website") or "",
                "logo": dict(logo) if logo else None,
                "is_own": False,
                "connection": connection,
            },
        )


def _issue_token(
    connection: PartnerConnection, kind: str, expires_at: dt.datetime | None = None
) -> tuple[AccessToken, str]:
    token = token_vault.new_token()
    row = AccessToken.objects.create(
        connection=connection,
        kind=kind,
        token_hash=token_vault.token_hash(token),
        token_encrypted=token_vault.encrypt(token),
        expires_at=expires_at,
    )
    return row, token


def _connected(
    connection: PartnerConnection,
    *,
    versions_url: str,
    endpoints: list[dict[str, str]],
    outgoing_token: str,
) -> None:
    connection.versions_url = versions_url
    connection.version = VERSION
    connection.endpoints = endpoints
    connection.outgoing_token_encrypted = token_vault.encrypt(outgoing_token)
    connection.status = PartnerConnection.Status.CONNECTED
    connection.last_error = ""
    connection.registered_at = connection.registered_at or timezone.now()


def _token_to_call(connection: PartnerConnection) -> str:
    try:
        return outgoing_token(connection)
    except NoTokenToCallWith as exc:
        raise RegistrationFailed(str(exc)) from exc


# --- As server: a partner registers with us -------------------------------------------------------


@transaction.atomic
def connection_invite(*, name: str) -> tuple[PartnerConnection, str]:
    """A pending connection and its one-time token A, to hand to the partner out of band.

    Raises OwnPartyMissing before our own party exists (the partner's POST could not be
    answered), ConnectionNameTaken when a live connection has that name; an unregistered one of
    that name is invited again.
    """
    own_parties_required()
    earlier = PartnerConnection.objects.filter(name__iexact=name).first()
    if earlier is None:
        connection = _create_connection(name=name)
    elif earlier.status == PartnerConnection.Status.UNREGISTERED:
        connection = _reopen(earlier, reason="Invited again after unregistering")
    else:
        raise _name_taken(name, earlier)
    expires = timezone.now() + dt.timedelta(hours=settings.OCPI_TOKEN_A_TTL_HOURS)
    _, token_a = _issue_token(connection, AccessToken.Kind.REGISTRATION, expires)
    audit_event_record(
        connection_id=connection.pk,
        verb="connection.invited",
        message=f"Invitation created for {name}; token A expires {expires:%Y-%m-%d %H:%M}Z.",
    )
    return connection, token_a


def _reopen(
    connection: PartnerConnection, *, reason: str, versions_url: str = "", token: str = ""
) -> PartnerConnection:
    """An unregistered connection (or a failed registration of ours) made pending again under
    its name, so that one partner keeps one connection, its history and its parties' objects."""
    connection.status = PartnerConnection.Status.PENDING
    connection.versions_url = versions_url
    connection.outgoing_token_encrypted = token
    change_reason_set(connection, reason)
    connection.save()
    return connection


def _credentials_store(
    connection: PartnerConnection,
    credentials: dict[str, Any],
    endpoints: list[dict[str, str]],
    reason: str,
) -> str:
    """Keep what a partner's credentials POST or PUT sent (its token, versions URL, endpoints
    and parties) on the locked connection, and give it a new token C in place of all it held;
    the new token C."""
    _connected(
        connection,
        versions_url=credentials["url"],
        endpoints=endpoints,
        outgoing_token=credentials["token"],
    )
    change_reason_set(connection, reason)
    connection.save()
    _sync_parties(connection, credentials["roles"])
    connection.tokens.all().delete()
    _, token_c = _issue_token(connection, AccessToken.Kind.ACCESS)
    return token_c


def credentials_register_from_partner(
    *, connection: PartnerConnection, token: AccessToken, credentials: dict[str, Any]
) -> dict[str, Any]:
    """POST /credentials: the partner registers with its token A; answer with its new token C.

    The partner's versions and details are fetched with its token B before anything is stored;
    on any failure nothing changes and token A keeps working until it expires.
    """
    if (
        token.kind != AccessToken.Kind.REGISTRATION
        or connection.status != PartnerConnection.Status.PENDING
    ):
        raise NotRegistered("Already registered: use PUT to update or DELETE to unregister.")
    own_parties_required()
    roles = _role_keys(credentials["roles"])
    _check_roles_available(connection, roles)
    endpoints = _fetch_endpoints(
        connection, versions_url=credentials["url"], token=credentials["token"]
    )
    with transaction.atomic():
        connection = PartnerConnection.objects.select_for_update().get(pk=connection.pk)
        if connection.status != PartnerConnection.Status.PENDING:
            raise NotRegistered("Already registered.")
        _check_roles_available(connection, roles)
        # Token A dies at registration (OCPI 2.2.1 credentials, registration step 7).
        token_c = _credentials_store(
            connection, credentials, endpoints, "Registered by the partner (credentials POST)"
        )
        audit_event_record(
            connection_id=connection.pk,
            verb="connection.registered",
            message=f"{connection} registered with us as {_describe(roles)}.",
        )
        # The partner stores our parties once this answer reaches it: deliver a little later.
        initial_sync_start_all(
            connection=connection,
            reason="the partner registered with us",
            delay_seconds=settings.OCPI_INITIAL_SYNC_DELAY_SECONDS,
        )
    return our_credentials(token_c)


def credentials_update_from_partner(
    *, connection: PartnerConnection, credentials: dict[str, Any]
) -> dict[str, Any]:
    """PUT /credentials: new token for us, refreshed endpoints; answer with a new token for them.

    The parties agreed at registration cannot change here (staff re-invite instead). If the
    partner's API cannot be used with its new token, nothing changes and the old tokens work.
    """
    if connection.status != PartnerConnection.Status.CONNECTED:
        raise NotRegistered("Not registered: POST first.")
    own_parties_required()
    roles = _role_keys(credentials["roles"])
    current = set(connection.parties.values_list("role", "country_code", "party_id"))
    if roles != current:
        raise InvalidParameters(
            "The roles of a connection cannot change in an update; ask the operator to re-invite."
        )
    endpoints = _fetch_endpoints(
        connection, versions_url=credentials["url"], token=credentials["token"]
    )
    with transaction.atomic():
        connection = PartnerConnection.objects.select_for_update().get(pk=connection.pk)
        token_c = _credentials_store(
            connection, credentials, endpoints, "Updated by the partner (credentials PUT)"
        )
        audit_event_record(
            connection_id=connection.pk,
            verb="connection.updated",
            message=f"{connection} updated its credentials; tokens rotated.",
        )
    return our_credentials(token_c)


@transaction.atomic
def credentials_unregister_from_partner(*, connection: PartnerConnection) -> None:
    """DELETE /credentials: the partner unregisters; every token of the connection dies."""
    if connection.status != PartnerConnection.Status.CONNECTED:
        raise NotRegistered("Not registered.")
    _revoke(connection, reason="Unregistered by the partner (credentials DELETE)")


def credentials_for_caller(*, token: AccessToken) -> dict[str, Any]:
    """GET /credentials: the token the caller uses to reach us, our URL and roles."""
    return our_credentials(token_vault.decrypt(token.token_encrypted))


def _revoke(connection: PartnerConnection, *, reason: str) -> None:
    connection.tokens.all().delete()
    connection.outgoing_token_encrypted = ""
    connection.status = PartnerConnection.Status.UNREGISTERED
    change_reason_set(connection, reason)
    connection.save()
    audit_event_record(
        connection_id=connection.pk,
        verb="connection.unregistered",
        message=f"{connection}: {reason}.",
    )


# --- As client: we register with a partner --------------------------------------------------------


def connection_register_with_partner(
    *, versions_url: str, token_a: str, name: str
) -> PartnerConnection:
    """Register with a partner from its versions URL and token A (we are the credentials sender).

    Raises RegistrationFailed with a reason staff can act on; the connection stays pending with
    `last_error` set, and a retry under the same name reuses it (with the URL and token given
    then) instead of adding a second one; so does registering again under the name of an
    unregistered connection.
    """
    try:
        own_parties_required()
    except OwnPartyMissing as exc:
        raise RegistrationFailed(exc.message) from exc
    token = token_vault.encrypt(token_a)
    earlier = PartnerConnection.objects.filter(name__iexact=name).first()
    if earlier is None:
        try:
            connection = _create_connection(
                name=name, versions_url=versions_url, outgoing_token_encrypted=token
            )
        except ConnectionNameTaken as exc:
            raise RegistrationFailed(str(exc)) from exc
    elif earlier.status == PartnerConnection.Status.PENDING and earlier.versions_url:
        # Only our own registration attempts set versions_url on a pending connection (an
        # invitation learns it when the partner registers): this is a retry of a failed one.
        connection = _reopen(
            earlier, reason="Registration retried", versions_url=versions_url, token=token
        )
    elif earlier.status == PartnerConnection.Status.UNREGISTERED:
        connection = _reopen(
            earlier, reason="Registering again", versions_url=versions_url, token=token
        )
    else:
        raise RegistrationFailed(str(_name_taken(name, earlier)))
    connection_register(connection=connection)
    return connection


def connection_register(*, connection: PartnerConnection) -> None:
    """Run the registration of a pending connection whose partner token A we hold."""
    if connection.status != PartnerConnection.Status.PENDING:
        raise RegistrationFailed(f"{connection} is {connection.status}, not pending.")
    token_a = _token_to_call(connection)
    try:
        endpoints = _fetch_endpoints(
            connection, versions_url=connection.versions_url, token=token_a
        )
    except OcpiError as exc:
        _fail(connection, f"OCPI {int(exc.status_code)}: {exc.message}")
    # Token B must be usable before the POST: the partner calls our versions with it meanwhile.
    token_b_row, token_b = _issue_token(connection, AccessToken.Kind.ACCESS)
    answer = _send_credentials(connection, "POST", endpoints, token_a, token_b, token_b_row)
    _check_roles_or_fail(connection, answer, token_b_row)
    with transaction.atomic():
        _connected(
            connection,
            versions_url=answer["url"],
            endpoints=endpoints,
            outgoing_token=answer["token"],
        )
        change_reason_set(connection, "Registered with the partner (our credentials POST)")
        connection.save()
        _sync_parties(connection, answer["roles"])
        audit_event_record(
            connection_id=connection.pk,
            verb="connection.registered",
            message=f"We registered with {connection} ({_describe(_role_keys(answer['roles']))}).",
        )
        initial_sync_start_all(connection=connection, reason="we registered with the partner")


def connection_update_with_partner(*, connection: PartnerConnection) -> None:
    """PUT our credentials to the partner: refresh its endpoints and rotate tokens both ways.

    If the partner refuses or cannot be reached, the old tokens keep working on both sides.
    """
    if connection.status != PartnerConnection.Status.CONNECTED:
        raise RegistrationFailed(f"{connection} is {connection.status}, not connected.")
    try:
        own_parties_required()
    except OwnPartyMissing as exc:
        raise RegistrationFailed(exc.message) from exc
    current = _token_to_call(connection)
    try:
        endpoints = _fetch_endpoints(
            connection, versions_url=connection.versions_url, token=current
        )
    except OcpiError as exc:
        _fail(connection, f"OCPI {int(exc.status_code)}: {exc.message}")
    new_row, new_token = _issue_token(connection, AccessToken.Kind.ACCESS)
    answer = _send_credentials(connection, "PUT", endpoints, current, new_token, new_row)
    with transaction.atomic():
        _connected(
            connection,
            versions_url=answer["url"],
            endpoints=endpoints,
            outgoing_token=answer["token"],
        )
        change_reason_set(connection, "Updated at the partner (our credentials PUT)")
        connection.save()
        _sync_parties(connection, answer["roles"])
        connection.tokens.exclude(pk=new_row.pk).delete()
        audit_event_record(
            connection_id=connection.pk,
            verb="connection.updated",
            message=f"We updated our credentials at {connection}; tokens rotated.",
        )


def connection_unregister_with_partner(
    *, connection: PartnerConnection, force: bool = False
) -> None:
    """DELETE our credentials at the partner, then revoke every token of the connection.

    With `force`, access is revoked here even when the partner cannot be reached.
    """
    if connection.status != PartnerConnection.Status.CONNECTED:
        raise RegistrationFailed(f"{connection} is {connection.status}, not connected.")
    url = connection.endpoint_url("credentials")
    error = ""
    try:
        with connection_client(connection, _token_to_call(connection)) as client:
            client.delete(url or "", module="credentials")
    except OcpiClientError as exc:
        error = str(exc)
        if not force:
            _fail(connection, f"DELETE {url} failed: {error}")
    with transaction.atomic():
        reason = "Unregistered at the partner (our credentials DELETE)"
        _revoke(connection, reason=reason + (f"; partner unreachable: {error}" if error else ""))


@transaction.atomic
def connection_set_suspended(*, connection: PartnerConnection, suspended: bool) -> None:
    """Staff pause (or resume) a connected partner: its token is refused while suspended."""
    allowed_from = (
        PartnerConnection.Status.CONNECTED if suspended else PartnerConnection.Status.SUSPENDED
    )
    if connection.status != allowed_from:
        raise RegistrationFailed(f"{connection} is {connection.status}.")
    connection.status = (
        PartnerConnection.Status.SUSPENDED if suspended else PartnerConnection.Status.CONNECTED
    )
    change_reason_set(connection, "Suspended by staff" if suspended else "Resumed by staff")
    connection.save()
    audit_event_record(
        connection_id=connection.pk,
        verb="connection.suspended" if suspended else "connection.resumed",
        message=change_reason_of(connection),
    )
    if not suspended:
        # Pushes skip a suspended partner: what changed meanwhile reaches it this way.
        initial_sync_start_all(connection=connection, reason="the connection was resumed")


def _send_credentials(
    connection: PartnerConnection,
    method: str,
    endpoints: list[dict[str, str]],
    auth_token: str,
    our_token: str,
    our_token_row: AccessToken,
) -> dict[str, Any]:
    url = next(e["url"] for e in endpoints if e["identifier"] == "credentials")
    try:
        with connection_client(connection, auth_token) as client:
            result = client.request(
                method, url, body=our_credentials(our_token), module="credentials"
            )
    except OcpiClientError as exc:
        our_token_row.delete()
        _fail(connection, f"{method} {url} failed: {exc}")
    answer = parse_or_none(CredentialsSerializer, result.data)
    if answer is None:
        our_token_row.delete()
        _fail(connection, f"{method} {url} answered no valid credentials object.")
    return answer


def _check_roles_or_fail(
    connection: PartnerConnection, answer: dict[str, Any], token_row: AccessToken
) -> None:
    try:
        _check_roles_available(connection, _role_keys(answer["roles"]))
    except InvalidParameters as exc:
        token_row.delete()
        _fail(connection, exc.message)


def _fail(connection: PartnerConnection, error: str) -> None:
    connection.last_error = error[:2000]
    change_reason_set(connection, "Handshake failed")
    connection.save(update_fields=["last_error", "updated_at"])
    raise RegistrationFailed(error)


def _describe(roles: set[RoleKey]) -> str:
    return ", ".join(f"{cc}*{pid} {role}" for role, cc, pid in sorted(roles))
