"""Our drivers' roaming sessions in the admin (side filter, zoned times, cost with currency,
history, no raw JSON) and our Sender's pages and date window."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.sessions.models import Session
from apps.sessions.services import CdrTokenInfo, session_start_from_charger
from tests.conftest import OCPI_EXAMPLES
from tests.factories.locations import EVSEData, own_location

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/charging_sessions/session/"
BOS_DRIVER = CdrTokenInfo(
    country_code="TR", party_id="BOS", uid="BOS-1", type="RFID", contract_id="TR-BOS-C1"
)


@pytest.fixture
def cpo(our_parties):
    return next(p for p in our_parties if p.role == "CPO")


def _roaming(api, kwh: float = 0) -> Session:
    data = json.loads((OCPI_EXAMPLES / "session_example_1_simple_start.json").read_text())
    data.update(country_code="DE", party_id="HBA", id="ROAM-1", currency="EUR")
    client = api.as_token("hub-token")
    url = "/ocpi/emsp/2.2.1/sessions/DE/HBA/ROAM-1"
    assert client.put(url, data, format="json").status_code == 201
    patch = {
        "kwh": kwh,
        "status": "ACTIVE",
        "total_cost": {"excl_vat": 1.5, "incl_vat": 1.8},
        "last_updated": "2020-03-09T10:30:00Z",
    }
    assert client.patch(url, patch, format="json").status_code == 200
    return Session.objects.get(session_id="ROAM-1")


def test_a_roaming_session_is_shown_with_its_side_cost_and_history(admin_client, api, hub, cpo):
    session = _roaming(api, kwh=7.5)
    evse_station = own_location(cpo, id="IST-1", evses=[EVSEData(uid="E1")])
    evse = evse_station.evses.get()
    session_start_from_charger(
        owner=cpo,
        location=evse_station,
        evse=evse,
        connector=evse.connectors.get(),
        started_at=timezone.now(),
        meter_start_wh=Decimal(0),
        cdr_token=BOS_DRIVER,
    )

    roaming = admin_client.get(CHANGELIST, {"side": "roaming"}).content.decode()
    assert "DE*HBA" in roaming
    assert "1.5000 EUR" in roaming
    assert "7.5" in roaming
    assert "UTC" in roaming
    assert roaming.count('class="field-status"') == 1
    visitors = admin_client.get(CHANGELIST, {"side": "visitors"}).content.decode()
    assert visitors.count('class="field-status"') == 1
    assert "DE*HBA" not in visitors

    page = admin_client.get(f"{CHANGELIST}{session.pk}/change/").content.decode()
    assert "ROAM-1" in page
    assert '"dimensions"' not in page  # periods as a table, not JSON
    history = admin_client.get(f"{CHANGELIST}{session.pk}/history/").content.decode()
    assert "PATCH by" in history
    assert "PUT by" in history


def test_times_show_the_station_zone_when_it_is_known(admin_client, cpo):
    station = own_location(cpo, id="IST-1", time_zone="Europe/Istanbul", evses=[EVSEData(uid="E1")])
    evse = station.evses.get()
    session_start_from_charger(
        owner=cpo,
        location=station,
        evse=evse,
        connector=evse.connectors.get(),
        started_at=dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC),
        meter_start_wh=Decimal(0),
        cdr_token=BOS_DRIVER,
    )
    page = admin_client.get(CHANGELIST).content.decode()
    assert "2026-03-02 10:00:00 UTC (13:00 Europe/Istanbul)" in page


def test_our_sender_pages_and_keeps_to_the_date_window(api, bosphorus, cpo):
    station = own_location(cpo, id="IST-1", evses=[EVSEData(uid="E1")])
    evse = station.evses.get()
    ids = []
    for _ in range(5):
        session = session_start_from_charger(
            owner=cpo,
            location=station,
            evse=evse,
            connector=evse.connectors.get(),
            started_at=timezone.now(),
            meter_start_wh=Decimal(0),
            cdr_token=BOS_DRIVER,
        )
        ids.append(session.session_id)
    base = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    for n, session_id in enumerate(ids):
        Session.objects.filter(session_id=session_id).update(
            last_updated=base + dt.timedelta(hours=n)
        )
    client = api.as_token("bosphorus-token")

    seen, url, params = [], "/ocpi/cpo/2.2.1/sessions", {"date_from": "2026-01-01T00:00:00Z",
                                                        "limit": 2}  # fmt: skip
    while url:
        page = client.get(url, params)
        assert page.status_code == 200
        assert page.headers["X-Total-Count"] == "5"
        seen += [s["id"] for s in page.json()["data"]]
        link = page.headers.get("Link", "")
        url, params = (link.split(">")[0].lstrip("<"), None) if link else ("", None)
    assert seen == ids

    window = client.get(
        "/ocpi/cpo/2.2.1/sessions",
        {"date_from": "2026-05-01T01:00:00Z", "date_to": "2026-05-01T03:00:00Z"},
    )
    # date_from inclusive, date_to exclusive (mod_sessions GET list).
    assert [s["id"] for s in window.json()["data"]] == ids[1:3]
    bad = client.get("/ocpi/cpo/2.2.1/sessions", {"date_from": "yesterday"})
    assert bad.json()["status_code"] == 2001


def test_a_reading_patch_is_stored_without_a_history_row_and_a_status_change_with_one(api, hub):
    session = _roaming(api)  # PUT + a PATCH that changes the status: two history rows
    assert session.history.count() == 2
    url = "/ocpi/emsp/2.2.1/sessions/DE/HBA/ROAM-1"
    reading = {"kwh": 3.25, "total_cost": None, "last_updated": "2020-03-09T10:40:00Z"}
    assert api.as_token("hub-token").patch(url, reading, format="json").status_code == 200
    session.refresh_from_db()
    assert session.kwh == Decimal("3.25")
    assert session.total_cost_incl_vat is None
    assert session.history.count() == 2
    stop = {"status": "COMPLETED", "last_updated": "2020-03-09T10:50:00Z"}
    assert api.as_token("hub-token").patch(url, stop, format="json").status_code == 200
    assert session.history.count() == 3
    assert session.history.first().status == "COMPLETED"
