"""Staff pages for CDRs: the list with its filters, a CDR's priced breakdown as readable
lines with units (no JSON), and the correction actions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.cdrs.admin import turkish_variants
from apps.cdrs.models import Cdr
from apps.partners.models import OutboxMessage
from tests.factories.cdrs import CdrData, completed_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def both(api, cpo, station, bosphorus_token, hub):
    ours = Cdr.objects.get(charging_session=completed_session(cpo, station, token=bosphorus_token))
    api.as_token("hub-token").post("/ocpi/emsp/2.2.1/cdrs", CdrData(id="HUB-1"), format="json")
    return ours, Cdr.objects.get(cdr_key="HUB-1")


def test_the_list_filters_by_direction_and_partner(admin_client, both, bosphorus, hub):
    ours, _ = both
    url = reverse("admin:cdrs_cdr_changelist")
    page = admin_client.get(url, {"direction": "ours"}).content.decode()
    assert ours.cdr_id in page
    assert "HUB-1" not in page
    page = admin_client.get(url, {"direction": "partners"}).content.decode()
    assert "HUB-1" in page
    assert ours.cdr_id not in page
    assert ours.cdr_id in admin_client.get(url, {"partner": bosphorus.pk}).content.decode()
    assert "HUB-1" not in admin_client.get(url, {"partner": bosphorus.pk}).content.decode()
    assert "HUB-1" in admin_client.get(url, {"partner": hub.pk}).content.decode()
    assert "HUB-1" in admin_client.get(url, {"q": "hub-1"}).content.decode()


def test_a_cdr_page_shows_the_breakdown_with_units_and_no_json(admin_client, both):
    ours, _ = both
    page = admin_client.get(reverse("admin:cdrs_cdr_change", args=[ours.pk])).content.decode()
    assert "Parking" in page
    assert "energy 4 kWh" in page or "energy 4.0 kWh" in page
    assert "UTC" in page
    assert '"dimensions"' not in page
    assert '"excl_vat"' not in page


def test_the_credit_action_issues_and_queues_a_credit_cdr(admin_client, both):
    ours, _ = both
    url = reverse("admin:cdrs_cdr_changelist")
    admin_client.post(url, {"action": "credit_only", "_selected_action": [ours.pk]})
    credit = Cdr.objects.get(credit=True)
    assert credit.credit_reference_id == ours.cdr_id
    assert OutboxMessage.objects.filter(module="cdrs", object_key__endswith=credit.cdr_id).exists()


def test_turkish_search_variants():
    assert "IŞIK" in [v.upper() for v in turkish_variants("ışık")]
    assert "İstanbul" in turkish_variants("istanbul")
