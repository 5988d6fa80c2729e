"""Sessions across OCPI 2.2.1 (mod_sessions), both roles.

CPO side: our session with a partner's token reaches that partner's Receiver — here a foreign,
non-Django partner (tests/foreign_partner.py: lower-case headers, PATCH appends charging
periods as the spec says) — PUT at start and at each period change, PATCHed on readings, in
order, retried while the partner is down, with the routing headers. Our Sender lists a partner
its own drivers' sessions only. eMSP side: the Receiver stores partners' sessions (PUT replaces,
PATCH appends periods, stale and repeated versions change nothing) and a pull brings every page.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.partners import token_vault
from apps.partners.models import OutboxMessage
from apps.partners.outbox import outbox_deliver
from apps.partners.pull import pull_run
from apps.sessions.models import Session
from apps.sessions.services import (
    CdrTokenInfo,
    MeterReading,
    session_charging_state_set,
    session_meter_values,
    session_start_from_charger,
    session_stop_from_charger,
)
from tests.conftest import OCPI_EXAMPLES
from tests.factories.locations import EVSEData, own_location
from tests.factories.partners import PartnerConnectionFactory, PartyFactory
from tests.factories.tariffs import own_tariff
from tests.foreign_partner import ForeignPartnerServer

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
LATER = "2020-03-09T10:30:00Z"
FOREIGN_DRIVER = CdrTokenInfo(
    country_code="DE", party_id="FOR", uid="FOR-0001", type="RFID", contract_id="DE-FOR-C0001"
)


@pytest.fixture
def foreign_partner():
    with ForeignPartnerServer() as partner:
        yield partner


@pytest.fixture
def foreign(foreign_partner, our_parties):
    connection = PartnerConnectionFactory(
        name="Foreign Roaming",
        versions_url=f"{foreign_partner.url}/ocpi/versions",
        endpoints=[
            *foreign_partner.endpoints("sessions"),
            *foreign_partner.endpoints("sessions", role="RECEIVER"),
        ],
        outgoing_token_encrypted=token_vault.encrypt("token-for-foreign"),
    )
    for role in ("CPO", "EMSP"):
        PartyFactory(country_code="DE", party_id="FOR", role=role, connection=connection)
    return connection


@pytest.fixture
def cpo(our_parties):
    return next(p for p in our_parties if p.role == "CPO")


@pytest.fixture
def station(cpo):
    own_tariff(cpo, id="AC-STANDARD")
    return own_location(cpo, id="IST-1", evses=[EVSEData(uid="E1")])


def _start(cpo, station, driver=FOREIGN_DRIVER):
    evse = station.evses.get()
    return session_start_from_charger(
        owner=cpo,
        location=station,
        evse=evse,
        connector=evse.connectors.get(),
        started_at=T0,
        meter_start_wh=Decimal(1000),
        cdr_token=driver,
    )


def _at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _deliver(connection) -> None:
    outbox_deliver(connection_id=connection.pk)


def test_a_session_with_a_partners_token_reaches_its_emsp_as_put_then_patches(
    foreign, foreign_partner, cpo, station
):
    session = _start(cpo, station)
    _deliver(foreign)
    session_meter_values(session=session, readings=[MeterReading(_at(10), Decimal(3000))])
    _deliver(foreign)
    session_meter_values(session=session, readings=[MeterReading(_at(20), Decimal(5000))])
    _deliver(foreign)

    sent = [(r.method, r.path) for r in foreign_partner.requests]
    path = f"/ocpi/emsp/2.2.1/sessions/TR/ECH/{session.session_id}"
    assert sent == [("PUT", path), ("PATCH", path), ("PATCH", path)]
    put, patch = foreign_partner.requests[0], foreign_partner.requests[2]
    assert put.body["cdr_token"]["uid"] == "FOR-0001"
    assert put.body["status"] == "ACTIVE"
    # A PATCH carries what a reading changes, never charging_periods (the receiver appends).
    assert set(patch.body) == {"kwh", "total_cost", "status", "last_updated"}
    assert Decimal(str(patch.body["kwh"])) == Decimal(4)
    for request in foreign_partner.requests:
        assert request.headers["ocpi-to-country-code"] == "DE"
        assert request.headers["ocpi-to-party-id"] == "FOR"
        assert request.headers["ocpi-from-party-id"] == "ECH"


def test_both_sides_end_with_the_same_session_when_it_stops(foreign, foreign_partner, cpo, station):
    session = _start(cpo, station)
    session_meter_values(session=session, readings=[MeterReading(_at(30), Decimal(8000))])
    session_charging_state_set(session=session, state="parking", at=_at(40))
    session_stop_from_charger(session=session, stopped_at=_at(50), meter_stop_wh=Decimal(9000))
    _deliver(foreign)

    session.refresh_from_db()
    held = foreign_partner.held["sessions"][f"TR/ECH/{session.session_id}".upper()]
    assert held["status"] == "COMPLETED"
    assert Decimal(str(held["kwh"])) == session.kwh == Decimal("8.0000")
    assert len(held["charging_periods"]) == len(session.charging_periods) >= 2
    assert held["charging_periods"][-1]["dimensions"][-1]["type"] == "PARKING_TIME"
    assert Decimal(str(held["total_cost"]["excl_vat"])) == session.total_cost_excl_vat
    assert held["end_date_time"] == "2026-03-02T10:50:00Z"


def test_updates_wait_while_the_partner_is_down_and_arrive_in_order(
    foreign, foreign_partner, cpo, station
):
    foreign_partner.fail_receiver = True
    session = _start(cpo, station)
    _deliver(foreign)
    assert OutboxMessage.objects.filter(module="sessions", status="pending").count() == 1
    session_meter_values(session=session, readings=[MeterReading(_at(10), Decimal(2000))])
    foreign_partner.fail_receiver = False
    OutboxMessage.objects.update(next_attempt_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    _deliver(foreign)

    delivered = [r.method for r in foreign_partner.requests if r.method != "GET"][-2:]
    assert delivered == ["PUT", "PATCH"]
    held = foreign_partner.held["sessions"][f"TR/ECH/{session.session_id}".upper()]
    assert Decimal(str(held["kwh"])) == Decimal(1)


def test_our_own_drivers_sessions_are_sent_to_nobody(foreign, foreign_partner, cpo, station):
    own = CdrTokenInfo(
        country_code="TR", party_id="ECH", uid="04AB", type="RFID", contract_id="TR-ECH-C1"
    )
    _start(cpo, station, driver=own)
    assert not OutboxMessage.objects.filter(module="sessions").exists()


def test_our_sender_lists_a_partner_its_own_drivers_sessions_only(
    api, bosphorus, hub, cpo, station
):
    bos_driver = CdrTokenInfo(
        country_code="TR", party_id="BOS", uid="BOS-1", type="RFID", contract_id="TR-BOS-C1"
    )
    ours = _start(cpo, station, driver=bos_driver)
    _start(cpo, station)  # a DE*FOR driver's: not Bosphorus'

    page = api.as_token("bosphorus-token").get(
        "/ocpi/cpo/2.2.1/sessions", {"date_from": "2026-01-01T00:00:00Z", "limit": 1}
    )
    assert page.status_code == 200
    assert [s["id"] for s in page.json()["data"]] == [ours.session_id]
    assert page.headers["X-Total-Count"] == "1"
    assert "Link" not in page.headers
    later = api.as_token("bosphorus-token").get(
        "/ocpi/cpo/2.2.1/sessions", {"date_from": "2099-01-01T00:00:00Z"}
    )
    assert later.json()["data"] == []


def test_charging_preferences_are_answered_not_possible_and_unknown_sessions_404(
    api, bosphorus, cpo, station
):
    bos_driver = CdrTokenInfo(
        country_code="TR", party_id="BOS", uid="BOS-1", type="RFID", contract_id="TR-BOS-C1"
    )
    session = _start(cpo, station, driver=bos_driver)
    client = api.as_token("bosphorus-token")
    url = f"/ocpi/cpo/2.2.1/sessions/{session.session_id}/charging_preferences"
    answer = client.put(url, {"profile_type": "FAST"}, format="json")
    assert answer.status_code == 200
    assert answer.json()["data"] == "NOT_POSSIBLE"
    unknown = client.put(
        "/ocpi/cpo/2.2.1/sessions/NOPE/charging_preferences",
        {"profile_type": "FAST"},
        format="json",
    )
    # No status code names an unknown session: HTTP 404 with the generic client error.
    assert unknown.status_code == 404
    assert unknown.json()["status_code"] == 2000


# --- eMSP side -----------------------------------------------------------------------------


def _example(name: str) -> dict:
    import json

    data = json.loads((OCPI_EXAMPLES / name).read_text())
    # The spec's examples are NL*STK's; the hub here carries DE*HBA.
    if "country_code" in data:
        data.update(country_code="DE", party_id="HBA")
    return data


def test_a_partners_session_is_put_patched_with_periods_appended_and_read_back(api, hub):
    client = api.as_token("hub-token")
    url = "/ocpi/emsp/2.2.1/sessions/DE/HBA/101"
    started = _example("session_example_1_simple_start.json")
    assert client.put(url, started, format="json").status_code == 201

    # The spec's PATCH example is dated before its start example: date it after.
    patch = {**_example("session_patch_example_charging_period.json"), "last_updated": LATER}
    assert client.patch(url, patch, format="json").status_code == 200
    # The same PATCH again (a retried delivery) must not append its period twice.
    assert client.patch(url, patch, format="json").status_code == 200

    session = Session.objects.get(country_code="DE", party_id="HBA", session_id="101")
    assert len(session.charging_periods) == len(patch["charging_periods"])
    assert session.kwh == Decimal(str(patch["kwh"]))
    assert session.total_cost_incl_vat == Decimal("0.88")
    read = client.get(url).json()["data"]
    assert read["id"] == "101"
    assert len(read["charging_periods"]) == len(patch["charging_periods"])
    assert session.history.count() == 2


def test_an_older_patch_changes_nothing(api, hub):
    client = api.as_token("hub-token")
    url = "/ocpi/emsp/2.2.1/sessions/DE/HBA/101"
    client.put(url, _example("session_example_1_simple_start.json"), format="json")
    stale = {"kwh": 99, "status": "COMPLETED", "last_updated": "2019-01-01T00:00:00Z"}
    answer = client.patch(url, stale, format="json")
    assert answer.status_code == 200
    assert "Not applied" in answer.json()["status_message"]
    session = Session.objects.get(session_id="101")
    assert (session.kwh, session.status) == (Decimal(0), "PENDING")


def test_another_partys_session_is_refused_and_nothing_is_stored(api, hub, bosphorus):
    answer = api.as_token("bosphorus-token").put(
        "/ocpi/emsp/2.2.1/sessions/DE/HBA/101",
        _example("session_example_1_simple_start.json"),
        format="json",
    )
    assert answer.status_code == 404
    assert not Session.objects.exists()


def test_a_pull_from_a_foreign_cpo_stores_every_page(foreign, foreign_partner):
    started = _example("session_example_1_simple_start.json")
    foreign_partner.lists["sessions"] = [
        {**started, "country_code": "DE", "party_id": "FOR", "id": f"S{n:02d}"} for n in range(25)
    ]
    result = pull_run(connection=foreign, module="sessions")
    assert result.completed, result
    assert Session.objects.filter(country_code="DE", party_id="FOR").count() == 25
    gets = [r for r in foreign_partner.requests if r.method == "GET"]
    assert len(gets) == 3
    assert gets[0].headers["ocpi-to-party-id"] == "FOR"
