"""What a hostile partner sends to any route that takes input gets an OCPI client error (2001,
never HTTP 500), and no stored row or history entry changes.

OCPI 2.2.1 pairs 2001 with HTTP 200 (status_codes.asciidoc); only what the transport refuses (a
body that is not acceptable JSON) is also HTTP 400.

ROUTES lists every OCPI route that takes a body, a URL object id or paging parameters; a new
module (sessions, commands, CDRs) adds its routes here and inherits every hostile class below.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

from apps.cdrs.models import Cdr
from apps.chargers.models import ChargerCommand
from apps.commands.models import Command, ReceivedCommand, Reservation
from apps.commands.services import uid_hash
from apps.locations.models import EVSE, Connector, Location
from apps.partners.models import AccessToken, PartnerConnection, Party
from apps.sessions.models import Session
from apps.tariffs.models import PriceComponent, Tariff, TariffElement
from apps.tokens.models import Token
from echargo.ocpi.receiver import STALE_MESSAGE
from tests.factories.cdrs import CdrData
from tests.factories.locations import ConnectorData, EVSEData, LocationData, own_location
from tests.factories.tariffs import TariffData

pytestmark = pytest.mark.django_db

HELD = "HELD-1"
FUTURE = "9999-12-31T23:59:59Z"
OLDER = "2025-01-01T00:00:00Z"
# Not in the future, and newer than every factory's last_updated.
RECENT = "2026-11-20T00:00:00Z"


def _session(session_id: str) -> dict[str, Any]:
    return {
        "country_code": "DE",
        "party_id": "HBA",
        "id": session_id,
        "start_date_time": "2026-11-01T10:00:00Z",
        "kwh": 0,
        "cdr_token": {
            "country_code": "TR",
            "party_id": "ECH",
            "uid": "DRIVER-1",
            "type": "RFID",
            "contract_id": "TR-ECH-C0001",
        },
        "auth_method": "WHITELIST",
        "location_id": "LOC-1",
        "evse_uid": "E1",
        "connector_id": "1",
        "currency": "EUR",
        "status": "ACTIVE",
        "last_updated": "2026-11-01T10:00:00Z",
    }


def _token(uid: str) -> dict[str, Any]:
    return {
        "country_code": "TR",
        "party_id": "BOS",
        "uid": uid,
        "type": "RFID",
        "contract_id": "TR-BOS-C0001",
        "issuer": "Bosphorus",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2026-11-01T10:00:00Z",
    }


@dataclass(frozen=True)
class Route:
    """One OCPI route that takes input, and a valid request for each of its methods."""

    name: str
    token: str
    # "{id}" stands for the object id in the URL; `held` is the id of an object stored there.
    path: str
    methods: tuple[str, ...]
    held: str = HELD
    # Valid bodies for an object id (PUT / POST) and a valid PATCH body.
    body: Callable[[str], dict[str, Any]] | None = None
    patch: dict[str, Any] | None = None
    # Where, in a body, an enum (or id) field is: a lone surrogate goes there.
    enum: tuple[Any, ...] = ()
    # Whether the objects carry last_updated (receivers keep the newest version).
    versioned: bool = False
    paginated: bool = False
    query: str = ""

    def url(self, object_id: str | None = None) -> str:
        return self.path.replace("{id}", object_id or self.held) + self.query

    def valid_body(self, method: str) -> dict[str, Any]:
        if method == "PATCH":
            return dict(self.patch)
        return self.body(self.held)


ROUTES = [
    Route(
        "location",
        "hub-token",
        "/ocpi/emsp/2.2.1/locations/DE/HBA/{id}",
        ("GET", "PUT", "PATCH"),
        body=lambda i: LocationData(country_code="DE", party_id="HBA", id=i),
        patch={"name": "Renamed", "last_updated": RECENT},
        enum=("parking_type",),
        versioned=True,
    ),
    Route(
        "evse",
        "hub-token",
        f"/ocpi/emsp/2.2.1/locations/DE/HBA/{HELD}/{{id}}",
        ("GET", "PUT", "PATCH"),
        held="E1",
        body=lambda i: EVSEData(uid=i),
        patch={"status": "CHARGING", "last_updated": RECENT},
        enum=("status",),
        versioned=True,
    ),
    Route(
        "connector",
        "hub-token",
        f"/ocpi/emsp/2.2.1/locations/DE/HBA/{HELD}/E1/{{id}}",
        ("GET", "PUT", "PATCH"),
        held="1",
        body=lambda i: ConnectorData(id=i),
        patch={"max_amperage": 16, "last_updated": RECENT},
        enum=("standard",),
        versioned=True,
    ),
    Route(
        "tariff",
        "hub-token",
        "/ocpi/emsp/2.2.1/tariffs/DE/HBA/{id}",
        ("GET", "PUT", "DELETE"),
        body=lambda i: TariffData(country_code="DE", party_id="HBA", id=i),
        enum=("elements", 0, "price_components", 0, "type"),
        versioned=True,
    ),
    Route(
        "token",
        "bosphorus-token",
        "/ocpi/cpo/2.2.1/tokens/TR/BOS/{id}",
        ("GET", "PUT", "PATCH"),
        body=_token,
        patch={"valid": False, "last_updated": RECENT},
        enum=("whitelist",),
        versioned=True,
    ),
    Route(
        "authorize",
        "hub-token",
        "/ocpi/emsp/2.2.1/tokens/{id}/authorize",
        ("POST",),
        body=lambda i: {"location_id": "LOC-1", "evse_uids": ["E1"]},
        enum=("location_id",),
    ),
    Route("our location", "bosphorus-token", "/ocpi/cpo/2.2.1/locations/{id}", ("GET",)),
    Route(
        "our evse", "bosphorus-token", f"/ocpi/cpo/2.2.1/locations/{HELD}/{{id}}", ("GET",), "E1"
    ),
    Route(
        "credentials",
        "bosphorus-token",
        "/ocpi/2.2.1/credentials",
        ("POST", "PUT"),
        body=lambda i: {
            "token": "a-new-token",
            "url": "https://bosphorus.example/ocpi/versions",
            "roles": [
                {
                    "role": "EMSP",
                    "party_id": "BOS",
                    "country_code": "TR",
                    "business_details": {"name": "Bosphorus"},
                }
            ],
        },
        enum=("roles", 0, "role"),
    ),
    Route(
        "location list", "bosphorus-token", "/ocpi/cpo/2.2.1/locations", ("GET",), paginated=True
    ),
    Route("tariff list", "bosphorus-token", "/ocpi/cpo/2.2.1/tariffs", ("GET",), paginated=True),
    Route("token list", "hub-token", "/ocpi/emsp/2.2.1/tokens", ("GET",), paginated=True),
    # CDRs are POSTed to the module URL; the held CDR is HELD, so a body that differs from it
    # under the same id is also a refused write.
    Route(
        "cdr post",
        "hub-token",
        "/ocpi/emsp/2.2.1/cdrs",
        ("POST",),
        body=lambda i: CdrData(id=i),
        enum=("cdr_token", "type"),
    ),
    Route("cdr", "hub-token", "/ocpi/emsp/2.2.1/cdrs/DE/HBA/{id}", ("GET",)),
    Route("cdr list", "bosphorus-token", "/ocpi/cpo/2.2.1/cdrs", ("GET",), paginated=True),
    Route(
        "command",
        "bosphorus-token",
        "/ocpi/cpo/2.2.1/commands/START_SESSION",
        ("POST",),
        body=lambda i: {
            "response_url": "https://bosphorus.example/ocpi/emsp/2.2.1/commands/START_SESSION/1",
            "token": _token("BOS-DRIVER-1"),
            "location_id": HELD,
            "evse_uid": "E1",
        },
        enum=("token", "type"),
    ),
    Route(
        "session",
        "hub-token",
        "/ocpi/emsp/2.2.1/sessions/DE/HBA/{id}",
        ("GET", "PUT", "PATCH"),
        body=_session,
        patch={"kwh": 3, "last_updated": RECENT},
        enum=("status",),
        versioned=True,
    ),
    Route("session list", "hub-token", "/ocpi/cpo/2.2.1/sessions", ("GET",), paginated=True),
    Route(
        "charging preferences",
        "hub-token",
        "/ocpi/cpo/2.2.1/sessions/{id}/charging_preferences",
        ("PUT",),
        body=lambda i: {"profile_type": "FAST"},
        enum=("profile_type",),
    ),
    Route(
        "command result",
        "hub-token",
        "/ocpi/emsp/2.2.1/commands/START_SESSION/{id}",
        ("POST",),
        body=lambda i: {"result": "ACCEPTED"},
        enum=("result",),
    ),
]


def _dumps(value: Any) -> str:
    # ASCII escapes (a surrogate travels as \ud800, as a partner would send it); Decimal
    # prices as JSON numbers.
    return json.dumps(value, default=float)


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def _with(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


@dataclass(frozen=True)
class Hostile:
    """One class of hostile request: which (route, method) it applies to, and the request."""

    name: str
    applies: Callable[[Route, str], bool]
    # (url, raw JSON body or None)
    request: Callable[[Route, str], tuple[str, str | None]]
    http_status: int | None = None  # when the transport decides (HTTP 400), else any below 500


def _surrogate_in_enum(route: Route, method: str) -> dict[str, Any]:
    if method == "PATCH":  # a PATCH carries the enum field at the top
        return {**route.valid_body(method), route.enum[-1]: "\ud800"}
    return _with(route.valid_body(method), route.enum, "\ud800")


def _has_body(route: Route, method: str) -> bool:
    return method in ("PUT", "PATCH", "POST")


def _body_text(route: Route, method: str, change: Callable[[dict[str, Any]], Any]) -> str:
    return _dumps(change(route.valid_body(method)))


HOSTILE = [
    Hostile(
        "JSON nested 100 levels deep inside a valid body",
        _has_body,
        lambda r, m: (r.url(), _body_text(r, m, lambda b: {**b, "extra": _nested(100)})),
        http_status=400,
    ),
    Hostile(
        "JSON nested 100,000 levels deep",
        _has_body,
        lambda r, m: (r.url(), "[" * 100_000 + "]" * 100_000),
        http_status=400,
    ),
    Hostile(
        "a lone surrogate in an enum field",
        lambda r, m: _has_body(r, m) and bool(r.enum),
        lambda r, m: (r.url(), _dumps(_surrogate_in_enum(r, m))),
        http_status=400,
    ),
    *[
        Hostile(
            f"a body that is not a JSON object: {text}",
            _has_body,
            lambda r, m, text=text: (r.url(), text),
        )
        for text in ("[]", '"x"', "42", "null", "true")
    ],
    Hostile(
        "a NUL byte in the URL object id",
        lambda r, m: "{id}" in r.path,
        lambda r, m: (
            r.url(r.held[:1] + "%00" + r.held[1:]),
            _dumps(r.valid_body(m)) if _has_body(r, m) else None,
        ),
    ),
    Hostile(
        "a control character in the URL object id",
        lambda r, m: "{id}" in r.path,
        lambda r, m: (
            r.url(r.held + "%0A"),
            _dumps(r.valid_body(m)) if _has_body(r, m) else None,
        ),
    ),
    Hostile(
        "last_updated far in the future",
        lambda r, m: r.versioned and m in ("PUT", "PATCH"),
        lambda r, m: (r.url(), _body_text(r, m, lambda b: {**b, "last_updated": FUTURE})),
    ),
    *[
        Hostile(
            f"{name} beyond bigint",
            lambda r, m: r.paginated,
            lambda r, m, name=name: (f"{r.url()}?{name}={2**63}", None),
        )
        for name in ("offset", "limit")
    ],
]

CASES = [
    pytest.param(route, method, hostile, id=f"{route.name} {method}: {hostile.name}")
    for route in ROUTES
    for method in route.methods
    for hostile in HOSTILE
    if hostile.applies(route, method)
]

SNAPSHOT_MODELS = [
    Location,
    EVSE,
    Connector,
    Tariff,
    TariffElement,
    PriceComponent,
    Token,
    Party,
    PartnerConnection,
    AccessToken,
    Cdr,
    Command,
    ReceivedCommand,
    Reservation,
    ChargerCommand,
    Session,
]


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row (and history entry) a receiver could write."""
    models = [*SNAPSHOT_MODELS]
    models += [m.history.model for m in SNAPSHOT_MODELS if hasattr(m, "history")]
    return {m._meta.label: list(m.objects.order_by("pk").values()) for m in models}


@pytest.fixture
def held(api, hub, bosphorus, our_parties):
    """One stored object behind every route: a partner location (with EVSE E1, connector 1),
    tariff and token, and one of our own published locations."""
    hub_client = api.as_token("hub-token")
    location = LocationData(country_code="DE", party_id="HBA", id=HELD, evses=[EVSEData(uid="E1")])
    for url, body in (
        (ROUTES[0].url(), location),
        (ROUTES[3].url(), TariffData(country_code="DE", party_id="HBA", id=HELD)),
    ):
        assert hub_client.put(url, body, format="json").status_code == 201
    bos_client = api.as_token("bosphorus-token")
    assert bos_client.put(ROUTES[4].url(), _token(HELD), format="json").status_code == 201
    session_url = next(r for r in ROUTES if r.name == "session").url()
    answer = api.as_token("hub-token").put(session_url, _session(HELD), format="json")
    assert answer.status_code == 201, answer.content
    cpo = next(p for p in our_parties if p.role == "CPO")
    own_location(cpo, id=HELD, evses=[EVSEData(uid="E1")])
    hub_client = api.as_token("hub-token")
    cdr = hub_client.post("/ocpi/emsp/2.2.1/cdrs", CdrData(id=HELD), format="json")
    assert cdr.json()["status_code"] == 1000, cdr.json()
    # A command we sent to the hub's CPO DE*HBA, waiting for its result at .../{HELD}.
    Command.objects.create(
        command="START_SESSION",
        connection=hub,
        cpo=hub.parties.get(party_id="HBA"),
        uid_hash=uid_hash(HELD),
        response_url="http://testserver/ocpi/emsp/2.2.1/commands/START_SESSION/…",
        state="waiting",
    )


def _send(api, route: Route, method: str, url: str, body: str | None):
    client = api.as_token(route.token)
    call = getattr(client, method.lower())
    if body is None:
        return call(url)
    return call(url, data=body.encode("utf-8"), content_type="application/json")


@pytest.mark.parametrize(("route", "method", "hostile"), CASES)
def test_hostile_request_is_answered_2001_and_changes_nothing(api, held, route, method, hostile):
    url, body = hostile.request(route, method)
    before = snapshot()

    response = _send(api, route, method, url, body)

    assert response.status_code < 500, response.content
    if hostile.http_status is not None:
        assert response.status_code == hostile.http_status, response.content
    envelope = response.json()
    assert envelope["status_code"] == 2001, envelope
    assert snapshot() == before


def test_every_route_and_every_hostile_class_is_exercised():
    names = {case.values[0].name for case in CASES}
    classes = {case.values[2].name for case in CASES}
    assert names == {route.name for route in ROUTES}
    assert classes == {hostile.name for hostile in HOSTILE}


STALE_CASES = [
    pytest.param(route, method, id=f"{route.name} {method}")
    for route in ROUTES
    if route.versioned
    for method in route.methods
    if method in ("PUT", "PATCH")
]


@pytest.mark.parametrize(("route", "method"), STALE_CASES)
def test_an_older_version_is_acknowledged_with_a_message_and_not_applied(api, held, route, method):
    body = {**route.valid_body(method), "last_updated": OLDER}
    before = snapshot()

    response = _send(api, route, method, route.url(), _dumps(body))

    assert response.status_code == 200
    assert response.json()["status_code"] == 1000
    assert response.json()["status_message"] == STALE_MESSAGE
    assert snapshot() == before


@pytest.mark.parametrize(("route", "method"), STALE_CASES)
def test_a_newer_version_is_applied_without_a_message(api, held, route, method):
    body = {**route.valid_body(method), "last_updated": RECENT}
    response = _send(api, route, method, route.url(), _dumps(body))
    assert response.status_code == 200
    assert response.json()["status_code"] == 1000
    assert "status_message" not in response.json()


def test_a_last_updated_within_the_clock_skew_is_accepted(api, held, settings):
    from django.utils import timezone

    from echargo.ocpi.fields import format_ocpi_datetime

    ahead = timezone.now() + timezone.timedelta(seconds=settings.OCPI_MAX_CLOCK_SKEW_SECONDS - 30)
    body = {**ROUTES[0].valid_body("PUT"), "last_updated": format_ocpi_datetime(ahead)}
    response = _send(api, ROUTES[0], "PUT", ROUTES[0].url(), _dumps(body))
    assert response.json()["status_code"] == 1000
    assert Location.objects.get(location_key=HELD, party_id="HBA").last_updated == ahead.replace(
        microsecond=ahead.microsecond // 1000 * 1000
    )


# --- Any JSON in any field of any input route -------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50)
    | st.sampled_from(["\ud800", "\udfff", "\x00", "x" * 300, "", FUTURE, "AVAILABLE"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
BODY_CASES = [(route, method) for route in ROUTES for method in route.methods if route.body]
BODY_CASES = [(route, method) for route, method in BODY_CASES if _has_body(route, method)]


@hypothesis.settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(case=st.sampled_from(BODY_CASES), data=st.data(), value=json_values)
def test_any_json_in_any_field_of_any_input_route_is_answered_never_500(
    api, held, case, data, value
):
    route, method = case
    body = route.valid_body(method)
    key = data.draw(st.sampled_from(sorted(body)), label="field")
    before = snapshot()

    response = _send(api, route, method, route.url(), _dumps({**body, key: value}))

    assert response.status_code < 500, response.content
    status_code = response.json()["status_code"]
    assert status_code < 3000
    if status_code != 1000:
        assert snapshot() == before
