"""Staff's pages in a real browser (Chromium, 1440x900): each page family opens without an HTTP
or console error and leaves a screenshot in the artefact directory (tests/browser/conftest.py)."""

from __future__ import annotations

import pytest

from apps.audit.models import OcpiExchange
from apps.audit.services import audit_log_flush
from apps.locations.models import Location
from apps.partners.models import PartnerConnection
from tests.factories.locations import own_location
from tests.factories.tariffs import own_tariff

from .conftest import ARTIFACTS, assert_no_console_errors, screenshot, visit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def network(our_parties):
    cpo = next(party for party in our_parties if party.role == "CPO")
    own_location(cpo, id="IST-1", city="İstanbul")
    own_tariff(cpo)
    return cpo


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/locations/location/",
        "/admin/tariffs/tariff/",
        "/admin/tokens/token/",
        "/admin/partners/party/",
        "/admin/partners/partnerconnection/",
        "/admin/audit/auditevent/",
    ],
)
def test_lists_open_cleanly(staff_page, network, path):
    name = "list-" + (path.strip("/").replace("/", "-") or "index")
    page = visit(staff_page, path, name)
    assert page.locator("#content").is_visible()
    assert (ARTIFACTS / f"{name}.png").stat().st_size > 0


def test_location_change_form_opens_and_saves(staff_page, network):
    location = Location.objects.get(location_id="IST-1")
    page = visit(staff_page, f"/admin/locations/location/{location.pk}/change/", "change-location")
    assert page.locator("input[name=city]").input_value() == "İstanbul"
    page.locator("input[name=city]").fill("Kadıköy")
    page.locator("input[name=_save]").click()
    page.wait_for_load_state("load")
    assert_no_console_errors(page)
    visit(page, page.url, "change-location-saved")
    location.refresh_from_db()
    assert location.city == "Kadıköy"


def test_tariff_change_form_opens(staff_page, network):
    from apps.tariffs.models import Tariff

    tariff = Tariff.objects.first()
    page = visit(staff_page, f"/admin/tariffs/tariff/{tariff.pk}/change/", "change-tariff")
    assert page.locator("form").first.is_visible()


def test_map_shows_our_station(staff_page, network):
    page = visit(staff_page, "/admin/locations/location/map/", "map")
    assert page.locator("#content").is_visible()


def test_onboarding_invite_creates_a_pending_connection(staff_page, network):
    page = visit(staff_page, "/admin/partners/partnerconnection/invite/", "onboarding-invite")
    page.locator("input[name=name]").fill("Anatolia Roaming")
    page.locator("form input[type=submit], form button[type=submit]").last.click()
    page.wait_for_load_state("load")
    assert_no_console_errors(page)
    screenshot(page, "onboarding-invited")
    assert PartnerConnection.objects.filter(name="Anatolia Roaming").exists()
    assert "/ocpi/versions" in page.locator(".messagelist, #content").first.inner_text()


def test_exchange_log_list_and_detail(staff_page, network, api):
    api.get("/ocpi/versions")  # refused: no token, logged as a 401
    audit_log_flush()
    exchange = OcpiExchange.objects.get()
    page = visit(staff_page, "/admin/audit/ocpiexchange/", "exchange-log")
    assert "401" in page.locator("#result_list").inner_text()
    visit(page, f"/admin/audit/ocpiexchange/{exchange.pk}/change/", "exchange-detail")
