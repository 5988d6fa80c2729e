"""Every list GET pages with offset/limit, X-Total-Count, X-Limit, Link and date filters."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest

from apps.partners.models import Party
from echargo.ocpi.client import parse_next_link
from echargo.ocpi.fields import format_ocpi_datetime

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.ocpi.urls")]


@pytest.fixture
def twelve_parties(bosphorus):
    """Twelve parties (bosphorus' own included) with last_updated one minute apart."""
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i in range(11):
        Party.objects.create(country_code="FR", party_id=f"A{i:02d}", role="CPO", name=f"p{i}")
    for i, party in enumerate(Party.objects.order_by("pk")):
        Party.objects.filter(pk=party.pk).update(last_updated=base + dt.timedelta(minutes=i))
    return base


def test_limit_is_capped_by_server_maximum_and_announced(api, twelve_parties, settings):
    settings.OCPI_MAX_PAGE_LIMIT = 5
    response = api.as_token("bosphorus-token").get("/ocpi/test/parties?limit=2000")
    assert len(response.json()["data"]) == 5
    assert response["X-Limit"] == "5"
    assert response["X-Total-Count"] == "12"
    query = parse_qs(urlsplit(parse_next_link(response["Link"])).query)
    assert query["offset"] == ["5"]
    assert query["limit"] == ["5"]


def test_following_links_visits_every_object_once_in_stable_order(api, twelve_parties):
    client = api.as_token("bosphorus-token")
    url, seen = "/ocpi/test/parties?limit=5", []
    while url:
        response = client.get(url)
        seen += [(p["country_code"], p["party_id"]) for p in response.json()["data"]]
        link = response.get("Link")
        url = parse_next_link(link) if link else None
    assert len(seen) == 12
    assert len(set(seen)) == 12
    assert seen == [
        (p.country_code, p.party_id) for p in Party.objects.order_by("last_updated", "pk")
    ]


def test_last_page_has_no_link(api, twelve_parties):
    response = api.as_token("bosphorus-token").get("/ocpi/test/parties?offset=10&limit=5")
    assert len(response.json()["data"]) == 2
    assert "Link" not in response


def test_date_from_is_inclusive_and_date_to_exclusive(api, twelve_parties):
    date_from = format_ocpi_datetime(twelve_parties + dt.timedelta(minutes=3))
    date_to = format_ocpi_datetime(twelve_parties + dt.timedelta(minutes=6))
    response = api.as_token("bosphorus-token").get(
        f"/ocpi/test/parties?date_from={date_from}&date_to={date_to}&limit=2"
    )
    assert response["X-Total-Count"] == "3"
    assert len(response.json()["data"]) == 2
    query = parse_qs(urlsplit(parse_next_link(response["Link"])).query)
    # The next link repeats every filter of the original request.
    assert query["date_from"] == [date_from]
    assert query["date_to"] == [date_to]


@pytest.mark.parametrize(
    "query", ["offset=-1", "limit=x", "date_from=2026-13-01T00:00:00Z", "date_to=tomorrow"]
)
def test_bad_paging_parameters_answer_2001(api, twelve_parties, query):
    response = api.as_token("bosphorus-token").get(f"/ocpi/test/parties?{query}")
    assert response.status_code == 200
    assert response.json()["status_code"] == 2001
