"""The exchange log as staff read it: decisive columns, failures marked, times with their zone,
search by partner name and status code, a detail page with indented bodies."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from apps.audit.models import OcpiExchange

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("zeynep", "z@echargo.example", "pw")
    client.force_login(user)
    return client


def exchange(connection=None, **values) -> OcpiExchange:
    defaults = {
        "created_at": dt.datetime(2026, 12, 7, 10, 30, 5, tzinfo=dt.UTC),
        "direction": "out",
        "connection": connection,
        "module": "locations",
        "method": "PUT",
        "url": "https://partner.example/ocpi/emsp/2.2.1/locations/TR/ECH/LOC1",
        "http_status": 200,
        "ocpi_status_code": 1000,
        "duration_ms": 12.6,
        "request_id": "req-1",
        "correlation_id": "cor-1",
        "request_body": '{"id": "LOC1", "city": "İstanbul"}',
        "response_body": '{"status_code": 1000}',
    }
    return OcpiExchange.objects.create(**{**defaults, **values})


def listed(staff, term: str) -> list:
    response = staff.get("/admin/audit/ocpiexchange/", {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_list_shows_utc_time_short_path_duration_and_marks_failures(staff, bosphorus):
    exchange(bosphorus)
    exchange(bosphorus, http_status=500, ocpi_status_code=None, request_id="req-2")
    page = staff.get("/admin/audit/ocpiexchange/").content.decode()
    assert "2026-12-07 10:30:05 UTC" in page
    assert "/ocpi/emsp/2.2.1/locations/TR/ECH/LOC1" in page
    assert "https://partner.example" not in page
    assert ">13<" in page  # duration in whole milliseconds
    assert page.count("exchange-failed") == 2  # HTTP and OCPI cells of the failed call


def test_search_by_partner_name_and_by_status_code(staff, bosphorus, hub):
    ours = exchange(bosphorus)
    failed = exchange(hub, http_status=502, ocpi_status_code=None, request_id="req-2")
    refused = exchange(hub, ocpi_status_code=2001, request_id="req-3")
    assert listed(staff, "Bosphorus") == [ours]
    assert listed(staff, "502") == [failed]
    assert listed(staff, "2001") == [refused]


def test_detail_page_indents_bodies_and_its_title_has_no_none(staff, bosphorus):
    row = exchange(bosphorus, http_status=None, ocpi_status_code=None, error="timed out")
    page = staff.get(f"/admin/audit/ocpiexchange/{row.pk}/change/").content.decode()
    assert "-&gt; None" not in page
    assert "-> None" not in page
    assert "no answer" in page
    assert '<pre class="exchange-body">{\n  &quot;id&quot;: &quot;LOC1&quot;' in page
    assert "İstanbul" in page
