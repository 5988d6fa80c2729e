"""Our CPO Sender serves our own published locations page by page from stored documents, one
object by id, and unpublished locations only to the partners publish_allowed_to names."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from apps.locations import selectors
from apps.locations.models import Location
from apps.locations.services import location_put_from_partner
from apps.locations.wire import LocationIn
from echargo.ocpi.client import parse_next_link
from echargo.ocpi.pagination import PageRequest
from echargo.ocpi.wire import validated
from tests.factories.locations import EVSEData, LocationData, own_location

pytestmark = pytest.mark.django_db

LIST = "/ocpi/cpo/2.2.1/locations"
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def client(api, bosphorus):
    return api.as_token("bosphorus-token")


@pytest.fixture
def twelve(cpo):
    """Twelve published locations of ours, created one minute apart."""
    locations = []
    for i in range(12):
        with time_machine.travel(START + dt.timedelta(minutes=i), tick=False):
            locations.append(own_location(cpo, id=f"IST-{i:02d}"))
    return locations


def ids(response):
    return [location["id"] for location in response.json()["data"]]


def test_list_returns_stored_documents_oldest_first(client, twelve):
    response = client.get(LIST)
    assert response.status_code == 200
    body = response.json()
    assert body["status_code"] == 1000
    assert ids(response) == [f"IST-{i:02d}" for i in range(12)]
    assert body["data"][0] == json.loads(twelve[0].ocpi_json)
    assert response["X-Total-Count"] == "12"


def test_list_pages_follow_link_headers_to_the_end(client, twelve, settings):
    settings.OCPI_MAX_PAGE_LIMIT = 5
    url, seen = f"{LIST}?limit=50", []
    while url:
        response = client.get(url)
        assert response["X-Limit"] == "5"
        seen += ids(response)
        url = parse_next_link(response.get("Link", "")) or None
    assert seen == [f"IST-{i:02d}" for i in range(12)]


def test_date_from_inclusive_and_date_to_exclusive(client, twelve):
    response = client.get(
        LIST, {"date_from": "2026-01-01T00:03:00Z", "date_to": "2026-01-01T00:06:00Z"}
    )
    assert ids(response) == ["IST-03", "IST-04", "IST-05"]
    assert response["X-Total-Count"] == "3"
    link = client.get(LIST, {"date_from": "2026-01-01T00:03:00Z", "limit": 2})["Link"]
    query = parse_qs(urlsplit(parse_next_link(link)).query)
    assert query["date_from"] == ["2026-01-01T00:03:00Z"]
    assert query["offset"] == ["2"]


def test_bad_paging_parameters_answer_2001(client, twelve):
    for params in ({"offset": "-1"}, {"limit": "many"}, {"date_from": "monday"}):
        assert client.get(LIST, params).json()["status_code"] == 2001


def test_changing_an_evse_moves_its_location_to_the_end(client, twelve):
    from apps.locations.services import evse_status_set

    uid = json.loads(twelve[0].ocpi_json)["evses"][0]["uid"]
    with time_machine.travel(START + dt.timedelta(hours=1), tick=False):
        evse_status_set(location=twelve[0], evse_uid=uid, status="CHARGING")
    assert ids(client.get(LIST))[-1] == "IST-00"
    response = client.get(LIST, {"date_from": "2026-01-01T00:30:00Z"})
    assert ids(response) == ["IST-00"]
    assert response.json()["data"][0]["evses"][0]["status"] == "CHARGING"
    assert response.json()["data"][0]["last_updated"] == "2026-01-01T01:00:00Z"


def test_only_our_own_published_locations_are_listed(client, cpo, hub):
    own_location(cpo, id="PUBLIC")
    own_location(cpo, id="PRIVATE", publish=False)
    partner = validated(LocationIn, LocationData(country_code="DE", party_id="HBA", id="THEIRS"))
    location_put_from_partner(owner=hub.parties.get(party_id="HBA"), data=partner)
    assert ids(client.get(LIST)) == ["PUBLIC"]
    assert client.get(f"{LIST}/PRIVATE").status_code == 404
    assert client.get(f"{LIST}/THEIRS").status_code == 404


def test_unpublished_location_is_served_only_to_the_partner_publish_allowed_to_names(
    api, cpo, bosphorus, anatolia_receives
):
    shared = own_location(
        cpo,
        id="SHARED",
        publish=False,
        publish_allowed_to=[{"visual_number": "ANA-0001", "issuer": "Anatolia Drive"}],
    )
    assert list(shared.visible_to.values_list("party_id", flat=True)) == ["ANA"]
    anatolia = api.as_token("anatolia-token")
    assert ids(anatolia.get(LIST)) == ["SHARED"]
    assert anatolia.get(f"{LIST}/SHARED").json()["data"]["publish"] is False

    bosphorus_client = api.as_token("bosphorus-token")
    response = bosphorus_client.get(LIST)
    assert response.json()["data"] == []
    assert response["X-Total-Count"] == "0"
    assert bosphorus_client.get(f"{LIST}/SHARED").status_code == 404


def test_publish_allowed_to_may_name_a_party_by_its_key(cpo, bosphorus):
    location = own_location(
        cpo, id="KEYED", publish=False, publish_allowed_to=[{"group_id": "G1", "issuer": "tr*bos"}]
    )
    assert list(location.visible_to.values_list("party_id", flat=True)) == ["BOS"]


def test_partner_registering_later_sees_locations_shared_with_it_by_name(cpo, db):
    location = own_location(
        cpo,
        id="LATER",
        publish=False,
        publish_allowed_to=[{"visual_number": "1", "issuer": "Late Comer"}],
    )
    assert not location.visible_to.exists()
    from tests.factories.partners import PartyFactory

    PartyFactory(country_code="NL", party_id="LAT", role="EMSP", name="Late Comer")
    assert list(location.visible_to.values_list("party_id", flat=True)) == ["LAT"]


def test_get_object_returns_location_evse_and_connector(client, cpo):
    location = own_location(cpo, id="OBJ", evses=[EVSEData(uid="E-1"), EVSEData(uid="E-2")])
    document = json.loads(location.ocpi_json)
    assert client.get(f"{LIST}/OBJ").json()["data"] == document
    assert client.get(f"{LIST}/obj/e-2").json()["data"] == document["evses"][1]
    connector = client.get(f"{LIST}/OBJ/E-2/1/").json()["data"]
    assert connector == document["evses"][1]["connectors"][0]
    for missing in ("NOPE", "OBJ/E-9", "OBJ/E-1/7"):
        response = client.get(f"{LIST}/{missing}")
        assert response.status_code == 404
        assert response.json()["status_code"] == 2000


def test_to_party_headers_narrow_the_list_to_that_cpo_of_ours(client, cpo):
    own_location(cpo, id="MINE")
    assert ids(client.get(LIST, HTTP_OCPI_TO_COUNTRY_CODE="TR", HTTP_OCPI_TO_PARTY_ID="ECH")) == [
        "MINE"
    ]
    assert ids(client.get(LIST, HTTP_OCPI_TO_COUNTRY_CODE="TR", HTTP_OCPI_TO_PARTY_ID="XXX")) == []


def test_list_costs_two_queries_whatever_the_page_size(cpo, bosphorus, twelve):
    for limit in (1, 12):
        with CaptureQueriesContext(db_connection) as queries:
            documents, total = selectors.location_sender_page(
                connection_id=bosphorus.pk,
                page=PageRequest(offset=0, limit=limit, date_from=None, date_to=None),
            )
        assert (len(documents), total) == (limit, 12)
        assert len(queries) == 2


@pytest.mark.parametrize(
    ("offset", "limit", "date_from", "date_to", "to_party"),
    [
        (0, 100, None, None, None),
        (3, 4, None, None, None),
        (0, 100, START + dt.timedelta(minutes=5), None, None),
        (1, 2, START + dt.timedelta(minutes=2), START + dt.timedelta(minutes=9), None),
        (0, 100, None, None, ("tr", "ech")),
        (0, 100, None, None, ("TR", "XXX")),
        (50, 10, None, None, None),
    ],
)
def test_sender_page_sql_serves_exactly_the_sender_queryset(
    cpo, bosphorus, anatolia_receives, hub, twelve, offset, limit, date_from, date_to, to_party
):
    own_location(cpo, id="HIDDEN", publish=False)
    own_location(
        cpo,
        id="FOR-ANATOLIA",
        publish=False,
        publish_allowed_to=[{"visual_number": "1", "issuer": "Anatolia Drive"}],
    )
    partner = validated(LocationIn, LocationData(country_code="DE", party_id="HBA", id="THEIRS"))
    location_put_from_partner(owner=hub.parties.get(party_id="HBA"), data=partner)
    page = PageRequest(offset=offset, limit=limit, date_from=date_from, date_to=date_to)
    for caller in (bosphorus, anatolia_receives):
        queryset = selectors.location_sender_list(connection_id=caller.pk, to_party=to_party)
        assert selectors.location_sender_page(
            connection_id=caller.pk, page=page, to_party=to_party
        ) == selectors.location_page(queryset, page)


@pytest.mark.parametrize("limit", [1, 100])
def test_list_request_query_count_does_not_grow_with_page_size(
    client, cpo, django_assert_max_num_queries, limit
):
    for i in range(30):
        with time_machine.travel(START + dt.timedelta(seconds=i), tick=False):
            own_location(cpo, id=f"Q-{i:02d}", evses=[EVSEData(), EVSEData(), EVSEData()])
    # Authentication (1), the exchange log (savepoint, insert, release: 3), our page (2).
    with django_assert_max_num_queries(6):
        response = client.get(LIST, {"limit": limit})
    assert len(response.json()["data"]) == min(limit, 30)


def test_sender_needs_a_registered_token(api, twelve):
    assert api.as_token(None).get(LIST).status_code == 401
    assert api.as_token("unknown").get(LIST).status_code == 401


def test_stored_document_matches_rendering_of_rows(cpo):
    location = own_location(cpo, id="DOC")
    from apps.locations.selectors import location_with_children
    from apps.locations.wire import location_document

    fresh = location_with_children(Location.objects.filter(pk=location.pk)).get()
    assert json.loads(location.ocpi_json) == json.loads(json.dumps(location_document(fresh)))
