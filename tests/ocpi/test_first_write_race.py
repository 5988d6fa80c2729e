"""Fifty partners' first PUTs of the same new object, at once, each with its own last_updated:
every one is answered (201 once, 200 for the rest), and the newest version is the one stored.

Real threads, each with its own database connection, on PostgreSQL (where the race is real:
SQLite takes one writer at a time).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections

from apps.locations.models import Location
from apps.tariffs.models import Tariff
from apps.tokens.models import Token
from echargo.ocpi.fields import format_ocpi_datetime
from tests.conftest import OcpiTestClient
from tests.factories.locations import EVSEData, LocationData
from tests.factories.tariffs import TariffData

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the race needs concurrent writers (PostgreSQL)"
)

WRITERS = 50
START = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _stamp(i: int) -> str:
    return format_ocpi_datetime(START + dt.timedelta(seconds=i))


def _concurrent_puts(
    token: str, url: str, body_of: Callable[[int], dict[str, Any]], method: str = "put"
) -> list:
    """PUT (or `method`) body_of(i) for i in 0..49 from 50 threads released together; their
    answers."""
    barrier = threading.Barrier(WRITERS)
    answers: list[Any] = [None] * WRITERS

    def put(i: int) -> None:
        client = OcpiTestClient().as_token(token)
        try:
            barrier.wait(timeout=30)
            response = getattr(client, method)(url, body_of(i), format="json")
            answers[i] = (response.status_code, response.json())
        except Exception as exc:  # reported by the assertions below
            answers[i] = exc
        finally:
            connections.close_all()

    # Shuffled start order: the newest version must win whichever thread commits first.
    order = sorted(range(WRITERS), key=lambda i: (i * 37) % WRITERS)
    threads = [threading.Thread(target=put, args=(i,)) for i in order]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def _assert_all_answered(answers: list) -> None:
    problems = [a for a in answers if not (isinstance(a, tuple) and a[0] in (200, 201))]
    assert problems == []
    assert all(body["status_code"] == 1000 for _, body in answers)
    assert [status for status, _ in answers].count(201) == 1


def test_concurrent_first_puts_of_a_new_location_all_succeed_and_the_newest_wins(
    transactional_db, hub
):
    def body(i: int) -> dict[str, Any]:
        return LocationData(
            country_code="DE",
            party_id="HBA",
            id="RACE-1",
            name=f"Version {i}",
            evses=[EVSEData(uid="E1", last_updated=_stamp(i))],
            last_updated=_stamp(i),
        )

    answers = _concurrent_puts("hub-token", "/ocpi/emsp/2.2.1/locations/DE/HBA/RACE-1", body)

    _assert_all_answered(answers)
    location = Location.objects.get(location_key="RACE-1")
    newest = START + dt.timedelta(seconds=WRITERS - 1)
    assert (location.name, location.last_updated) == (f"Version {WRITERS - 1}", newest)
    assert location.evses.get().last_updated == newest
    assert location.history.filter(history_type="+").count() == 1


def test_concurrent_first_puts_of_a_new_token_all_succeed_and_the_newest_wins(
    transactional_db, bosphorus
):
    def body(i: int) -> dict[str, Any]:
        return {
            "country_code": "TR",
            "party_id": "BOS",
            "uid": "RACE-1",
            "type": "RFID",
            "contract_id": f"TR-BOS-C{i:04d}",
            "issuer": "Bosphorus",
            "valid": True,
            "whitelist": "ALLOWED",
            "last_updated": _stamp(i),
        }

    answers = _concurrent_puts("bosphorus-token", "/ocpi/cpo/2.2.1/tokens/TR/BOS/RACE-1", body)

    _assert_all_answered(answers)
    token = Token.objects.get(uid="RACE-1")
    assert token.contract_id == f"TR-BOS-C{WRITERS - 1:04d}"
    assert token.last_updated == START + dt.timedelta(seconds=WRITERS - 1)
    assert token.history.filter(history_type="+").count() == 1


def test_concurrent_first_puts_of_a_new_tariff_all_succeed_and_the_newest_wins(
    transactional_db, hub
):
    def body(i: int) -> dict[str, Any]:
        data = TariffData(country_code="DE", party_id="HBA", id="RACE-1", last_updated=_stamp(i))
        data["elements"][0]["price_components"][0]["price"] = float(Decimal(i) / 100)
        return data

    answers = _concurrent_puts("hub-token", "/ocpi/emsp/2.2.1/tariffs/DE/HBA/RACE-1", body)

    _assert_all_answered(answers)
    tariff = Tariff.objects.get(tariff_id="RACE-1")
    assert tariff.last_updated == START + dt.timedelta(seconds=WRITERS - 1)
    price = tariff.elements.get().price_components.get().price
    assert price == Decimal(WRITERS - 1) / 100
    assert tariff.history.filter(history_type="+").count() == 1


def test_concurrent_puts_of_a_held_location_and_patches_of_its_evse_end_on_the_newest(
    transactional_db, hub
):
    url = "/ocpi/emsp/2.2.1/locations/DE/HBA/RACE-2"
    first = LocationData(country_code="DE", party_id="HBA", id="RACE-2", evses=[EVSEData(uid="E1")])
    assert OcpiTestClient().as_token("hub-token").put(url, first, format="json").status_code == 201

    def location(i: int) -> dict[str, Any]:
        return {**first, "name": f"Version {i}", "last_updated": _stamp(i)}

    answers = _concurrent_puts("hub-token", url, location)
    assert [a[0] if isinstance(a, tuple) else a for a in answers] == [200] * WRITERS
    newest = START + dt.timedelta(seconds=WRITERS - 1)
    stored = Location.objects.get(location_key="RACE-2")
    assert (stored.name, stored.last_updated) == (f"Version {WRITERS - 1}", newest)

    def evse_patch(i: int) -> dict[str, Any]:
        status = "CHARGING" if i == WRITERS - 1 else "BLOCKED"
        return {"status": status, "last_updated": _stamp(WRITERS + i)}

    answers = _concurrent_puts("hub-token", f"{url}/E1", evse_patch, method="patch")
    assert [a[0] if isinstance(a, tuple) else a for a in answers] == [200] * WRITERS
    evse = Location.objects.get(location_key="RACE-2").evses.get()
    assert evse.status == "CHARGING"
    assert evse.last_updated == START + dt.timedelta(seconds=2 * WRITERS - 1)


def test_concurrent_first_puts_of_a_new_session_all_succeed_and_the_newest_wins(
    transactional_db, hub
):
    from apps.sessions.models import Session
    from tests.ocpi.test_hostile_input import _session

    def body(i: int) -> dict[str, Any]:
        return {**_session("RACE-1"), "kwh": i, "last_updated": _stamp(i)}

    answers = _concurrent_puts("hub-token", "/ocpi/emsp/2.2.1/sessions/DE/HBA/RACE-1", body)

    _assert_all_answered(answers)
    session = Session.objects.get(session_id="RACE-1")
    assert session.last_updated == START + dt.timedelta(seconds=WRITERS - 1)
    assert session.kwh == WRITERS - 1
    assert session.history.filter(history_type="+").count() == 1


def test_concurrent_first_posts_of_a_new_cdr_store_it_once(transactional_db, hub):
    from apps.cdrs.models import Cdr
    from apps.cdrs.signals import cdr_received
    from tests.factories.cdrs import CdrData

    received: list[str] = []

    def note(sender, cdr, **kwargs):
        received.append(cdr.cdr_id)

    cdr_received.connect(note)
    body = CdrData(id="RACE-1")
    try:
        answers = _concurrent_puts("hub-token", "/ocpi/emsp/2.2.1/cdrs", lambda i: body, "post")
    finally:
        cdr_received.disconnect(note)

    problems = [a for a in answers if not (isinstance(a, tuple) and a[0] == 200)]
    assert problems == []
    assert all(answer["status_code"] == 1000 for _, answer in answers)
    cdr = Cdr.objects.get(cdr_key="RACE-1")
    assert cdr.history.filter(history_type="+").count() == 1
    assert received == ["RACE-1"]
