"""The OCPI Receiver rules, written once: every module's receiver follows this recipe.

OCPI 2.2.1 transport_and_format (client-owned object push): the owner of an object (a CPO's
Location, Tariff, Session or CDR; an eMSP's Token) PUTs and PATCHes it at
`{base}/{country_code}/{party_id}/{id}` on the other party's Receiver. Locations, tariffs and
tokens do it like this; sessions, commands and CDRs do it the same way.

The view (apps/<app>/views.py), thin and the same in every app::

    class ThingView(OcpiView):                       # echargo.ocpi.views: URL ids checked
        ocpi_module = "things"

        def get(self, request, country_code, party_id, thing_id):
            owner = owner_of_url(request, country_code, party_id, role=Role.CPO)
            thing = selectors.thing_of_owner(owner=owner, thing_id=thing_id)
            if thing is None:
                raise UnknownObject("Unknown thing.")
            return stored_document_response(thing.ocpi_json)    # echargo.ocpi.response

        def put(self, request, country_code, party_id, thing_id):
            owner = owner_of_url(request, country_code, party_id, role=Role.CPO)
            body = body_object(request)                            # 2001 unless an object
            check_body_owner(body, country_code, party_id)         # echargo.ocpi.routing
            check_body_id(body, "id", thing_id)
            write = services.thing_put_from_partner(
                owner=owner, data=validated(ThingIn, body), reason=...  # echargo.ocpi.wire
            )
            return write_answer(write)                             # 201 / 200 / stale note

The service (apps/<app>/services.py), `<entity>_put_from_partner` (and `_patch_from_partner`,
which answers `Outcome.UPDATED`)::

    @first_write_race_safe                       # concurrent first PUTs of one new object
    def thing_put_from_partner(*, owner, data, reason) -> Write[Thing]:
        held = Thing.objects.select_for_update().filter(owner=owner, key=...).first()
        if held is not None and is_stale(data["last_updated"], held.last_updated):
            return Write(Outcome.STALE, held, changed=False)
        ... save row by row with `_change_reason` (simple-history) ...
        return Write(Outcome.CREATED if held is None else Outcome.REPLACED, thing)

Tests: add the module's routes to ROUTES in tests/ocpi/test_hostile_input.py (every hostile
input class and the stale answer then run against them) and its first PUT to
tests/ocpi/test_first_write_race.py.

What the layer below already did by the time the view runs:
- the body parsed as JSON with exact numbers, no deeper than 32 levels, no lone surrogate
  (echargo/ocpi/parsers.py: HTTP 400 + 2001 otherwise);
- the caller authenticated to a connection (apps/partners), the URL ids checked for control
  characters (`echargo.ocpi.views.OcpiView`, 2001);
- `last_updated` fields are `LastUpdatedField` (echargo/ocpi/fields.py): a version further in
  the future than OCPI_MAX_CLOCK_SKEW_SECONDS is refused (2001), so no partner can freeze its
  object by dating it 9999-12-31.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

from django.db import IntegrityError, transaction
from rest_framework.request import Request
from rest_framework.response import Response

from .exceptions import InvalidParameters
from .response import ocpi_response
from .routing import caller_of, require_caller_party

T = TypeVar("T")
P = ParamSpec("P")


class Outcome(enum.Enum):
    """What a partner's write did."""

    CREATED = "created"  # a PUT of an object we did not hold
    REPLACED = "replaced"  # a PUT of an object we held (also when nothing in it changed)
    UPDATED = "updated"  # a PATCH applied
    STALE = "stale"  # older than what we hold: acknowledged, not applied (see is_stale)


@dataclass(frozen=True)
class Write(Generic[T]):
    """The outcome of a write and the object as it is now stored."""

    outcome: Outcome
    obj: T
    # False when the content equals what we held (a re-send): nothing to publish or record.
    changed: bool = True

    @property
    def created(self) -> bool:
        return self.outcome is Outcome.CREATED

    @property
    def stale(self) -> bool:
        return self.outcome is Outcome.STALE


def is_stale(incoming: dt.datetime, held: dt.datetime | None) -> bool:
    """Whether an update whose last_updated is older than what we hold is to be dropped.

    Pushes can arrive out of order (outbox retries, parallel workers, a pull racing a push).
    The newer state is already here, so applying the older one would roll data back; an error
    status would only make the sender retry or re-PUT the same old object, so it is answered
    1000 with a message saying it was not applied (`write_answer`). Equal times are applied:
    that is a retry of the same message.
    """
    return held is not None and incoming < held


STALE_MESSAGE = (
    "Not applied: we hold a newer version of this object (its last_updated is later than the "
    "one sent)."
)


def write_answer(write: Write[Any] | Outcome) -> Response:
    """The answer to a PUT or PATCH: OCPI 2.2.1 transport, 201 when the PUT created the object,
    200 when it replaced or updated it; a stale version is 200 + 1000 with STALE_MESSAGE."""
    outcome = write.outcome if isinstance(write, Write) else write
    if outcome is Outcome.STALE:
        return ocpi_response(message=STALE_MESSAGE)
    return ocpi_response(http_status=201 if outcome is Outcome.CREATED else 200)


def body_object(request: Request) -> dict[str, Any]:
    """The JSON object a PUT, PATCH or POST carries; 2001 for any other JSON value."""
    if not isinstance(request.data, dict):
        raise InvalidParameters("The body must be a JSON object.")
    return request.data


def owner_of_url(request: Request, country_code: str, party_id: str, *, role: str) -> Any:
    """The calling connection's party, in `role`, that a receiver URL names.

    UnknownObject (HTTP 404) when the connection does not represent it: a partner only ever
    reads or writes its own parties' objects (DESIGN.md: data ownership). The party object
    comes from the authenticated caller (apps.partners plugs it in).
    """
    require_caller_party(request, country_code, party_id)
    return caller_of(request).party_in_role(country_code, party_id, role)


def _is_unique_violation(exc: IntegrityError) -> bool:
    cause = exc.__cause__
    # PostgreSQL unique_violation (SQLSTATE 23505); SQLite's message.
    return getattr(cause, "sqlstate", None) == "23505" or "UNIQUE constraint" in str(exc)


FIRST_WRITE_ATTEMPTS = 3


def first_write_race_safe(write: Callable[P, T]) -> Callable[P, T]:
    """Run a receiver write in its own transaction (or savepoint), again when it lost a race.

    Locking a row that does not exist yet locks nothing: two first PUTs of the same new object
    both find nothing, both insert, and the later insert fails on the unique key (PostgreSQL
    makes it wait for the first to commit, then raises unique_violation). The loser is rolled
    back and run again: it now finds the winner's row, locks it, and applies the usual rules
    (the newer version wins, an older one is stale). `write` must look the object up with
    SELECT ... FOR UPDATE, and must have no effect outside the database.
    """

    @functools.wraps(write)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, FIRST_WRITE_ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    return write(*args, **kwargs)
            except IntegrityError as exc:
                if attempt == FIRST_WRITE_ATTEMPTS or not _is_unique_violation(exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    return run
