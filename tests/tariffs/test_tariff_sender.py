"""Our CPO tariffs Sender: GET /ocpi/cpo/2.2.1/tariffs lists our own tariffs, page by page."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import OcpiExchange
from apps.partners.pull import pullable_modules
from apps.partners.services import party_upsert_own
from apps.tariffs.models import Tariff
from echargo.ocpi.client import parse_next_link
from tests.factories.tariffs import own_tariff, partner_tariff

pytestmark = pytest.mark.django_db

URL = "/ocpi/cpo/2.2.1/tariffs"
START = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def own_tariffs(count: int, start: dt.datetime = START) -> list[Tariff]:
    """`count` tariffs of ours, changed one minute apart."""
    tariffs = []
    for i in range(count):
        with time_machine.travel(start + dt.timedelta(minutes=i), tick=False):
            tariffs.append(own_tariff(id=f"T{i:03d}"))
    return tariffs


def test_lists_our_tariffs_as_stored_and_not_partners(api, bosphorus, our_cpo, allego_cpo):
    ours = own_tariff(
        id="NIGHT",
        elements=[
            {
                "price_components": [{"type": "ENERGY", "price": "0.1234", "step_size": 1}],
                "restrictions": {"start_time": "22:00", "end_time": "06:00"},
            }
        ],
    )
    partner_tariff(allego_cpo, id="THEIRS")

    response = api.as_token("bosphorus-token").get(URL)

    assert response.status_code == 200
    body = json.loads(response.content, parse_float=Decimal)
    assert body["status_code"] == 1000
    assert body["data"] == [json.loads(ours.ocpi_json, parse_float=Decimal)]
    tariff = body["data"][0]
    assert (tariff["country_code"], tariff["party_id"], tariff["id"]) == ("TR", "ECH", "NIGHT")
    assert tariff["elements"][0]["price_components"][0]["price"] == Decimal("0.1234")
    assert tariff["elements"][0]["restrictions"] == {"start_time": "22:00", "end_time": "06:00"}
    assert response["X-Total-Count"] == "1"


def test_pages_follow_last_updated_order_with_links(api, bosphorus, our_cpo, settings):
    settings.OCPI_MAX_PAGE_LIMIT = 4
    own_tariffs(10)
    client = api.as_token("bosphorus-token")

    url, seen = f"{URL}?limit=100", []
    while url:
        response = client.get(url)
        assert response["X-Limit"] == "4"
        assert response["X-Total-Count"] == "10"
        seen += [t["id"] for t in response.json()["data"]]
        url = parse_next_link(response["Link"]) if response.has_header("Link") else None

    assert seen == [f"T{i:03d}" for i in range(10)]


def test_date_from_is_inclusive_and_date_to_exclusive(api, bosphorus, our_cpo):
    own_tariffs(5)
    date_from = (START + dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    date_to = (START + dt.timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")

    response = api.as_token("bosphorus-token").get(
        URL, {"date_from": date_from, "date_to": date_to, "limit": 1}
    )

    assert [t["id"] for t in response.json()["data"]] == ["T001"]
    assert response["X-Total-Count"] == "2"
    query = parse_qs(urlsplit(parse_next_link(response["Link"])).query)
    assert query["date_from"] == [date_from]
    assert query["date_to"] == [date_to]
    assert query["offset"] == ["1"]


def test_bad_date_from_is_2001(api, bosphorus, our_cpo):
    response = api.as_token("bosphorus-token").get(URL, {"date_from": "last week"})
    assert response.json()["status_code"] == 2001


def test_a_changed_tariff_moves_to_the_end_of_the_list(api, bosphorus, our_cpo):
    own_tariffs(3)
    with time_machine.travel(START + dt.timedelta(hours=1), tick=False):
        own_tariff(id="T000", currency="EUR")

    response = api.as_token("bosphorus-token").get(URL)

    assert [t["id"] for t in response.json()["data"]] == ["T001", "T002", "T000"]
    assert response.json()["data"][-1]["last_updated"] == "2026-03-01T09:00:00Z"


def test_page_costs_the_same_number_of_queries_whatever_its_size(api, bosphorus, our_cpo):
    own_tariffs(40)
    client = api.as_token("bosphorus-token")
    client.get(URL, {"limit": 1})  # warm-up: the system user, content types

    with CaptureQueriesContext(connection) as one:
        assert len(client.get(URL, {"limit": 1}).json()["data"]) == 1
    with CaptureQueriesContext(connection) as forty:
        assert len(client.get(URL, {"limit": 40}).json()["data"]) == 40
    with CaptureQueriesContext(connection) as deep:
        assert len(client.get(URL, {"offset": 35, "limit": 5}).json()["data"]) == 5

    assert len(one) == len(forty) == len(deep)
    assert not any("tariffelement" in q["sql"] for q in forty.captured_queries)


def test_routing_headers_pick_one_of_the_cpos_we_host(api, bosphorus, our_cpo):
    (second_cpo,) = party_upsert_own(
        country_code="TR", party_id="EC2", roles=["CPO"], name="echargo second brand"
    )
    own_tariff(our_cpo, id="MAIN")
    own_tariff(second_cpo, id="BRAND")

    routed = api.as_token("bosphorus-token").get(
        URL, HTTP_OCPI_TO_COUNTRY_CODE="TR", HTTP_OCPI_TO_PARTY_ID="ec2"
    )
    everything = api.as_token("bosphorus-token").get(URL)

    assert [t["id"] for t in routed.json()["data"]] == ["BRAND"]
    assert {t["id"] for t in everything.json()["data"]} == {"MAIN", "BRAND"}


def test_unauthenticated_list_is_401(api, our_cpo):
    assert api.as_token(None).get(URL).status_code == 401
    assert api.as_token("who-knows").get(URL).status_code == 401


def test_url_without_trailing_slash_and_with_it_both_answer(api, bosphorus, our_cpo):
    own_tariff(id="T1")
    client = api.as_token("bosphorus-token")
    assert client.get(URL).json()["data"] == client.get(URL + "/").json()["data"]


def test_version_details_announce_our_tariffs_sender_and_receiver(api, bosphorus, settings):
    settings.OCPI_BASE_URL = "https://echargo.example"
    endpoints = api.as_token("bosphorus-token").get("/ocpi/2.2.1").json()["data"]["endpoints"]

    tariffs = sorted((e["role"], e["url"]) for e in endpoints if e["identifier"] == "tariffs")
    assert tariffs == [
        ("RECEIVER", "https://echargo.example/ocpi/emsp/2.2.1/tariffs"),
        ("SENDER", "https://echargo.example/ocpi/cpo/2.2.1/tariffs"),
    ]
    assert "tariffs" in pullable_modules()


def test_list_requests_are_logged_as_tariffs_exchanges(api, bosphorus, our_cpo):
    api.as_token("bosphorus-token").get(URL)
    exchange = OcpiExchange.objects.get(direction="in")
    assert (exchange.module, exchange.connection, exchange.http_status) == (
        "tariffs",
        bosphorus,
        200,
    )
