"""Our CDR Sender (GET /ocpi/cpo/2.2.1/cdrs): paginated, date_from/date_to, and an eMSP sees
the CDRs of its own drivers' tokens only — never another eMSP's, never partners' CDRs."""

from __future__ import annotations

import pytest

from apps.cdrs.models import Cdr
from tests.factories.cdrs import CdrData, completed_session
from tests.factories.partners import PartnerConnectionFactory, PartyFactory, issue_token
from tests.factories.tokens import TokenFactory

pytestmark = pytest.mark.django_db
URL = "/ocpi/cpo/2.2.1/cdrs"


@pytest.fixture
def other_emsp(db):
    connection = PartnerConnectionFactory(name="Other eMSP")
    party = PartyFactory(country_code="NL", party_id="OTH", role="EMSP", connection=connection)
    issue_token(connection, "other-token")
    return party


def test_an_emsp_lists_only_its_drivers_cdrs_page_by_page(
    api, cpo, station, bosphorus_token, other_emsp, hub
):
    bos = [completed_session(cpo, station, token=bosphorus_token) for _ in range(3)]
    other = TokenFactory(owner=other_emsp, country_code="NL", party_id="OTH", uid="OTH-1")
    completed_session(cpo, station, token=other)
    completed_session(cpo, station)  # our own driver
    api.as_token("hub-token").post("/ocpi/emsp/2.2.1/cdrs", CdrData(id="HUB-1"), format="json")

    client = api.as_token("bosphorus-token")
    first = client.get(URL, {"limit": 2})
    assert first.headers["X-Total-Count"] == "3"
    assert 'rel="next"' in first.headers["Link"]
    ids = [c["id"] for c in first.json()["data"]]
    second = client.get(URL, {"limit": 2, "offset": 2})
    ids += [c["id"] for c in second.json()["data"]]
    assert "Link" not in second.headers
    assert sorted(ids) == sorted(s.session_id for s in bos)

    others = api.as_token("other-token").get(URL).json()["data"]
    assert [c["cdr_token"]["uid"] for c in others] == ["OTH-1"]
    assert api.as_token("hub-token").get(URL).json()["data"] == []


def test_date_from_and_date_to_bound_the_list(api, cpo, station, bosphorus_token):
    completed_session(cpo, station, token=bosphorus_token)
    cdr = Cdr.objects.get()
    stamp = cdr.last_updated.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    client = api.as_token("bosphorus-token")
    assert len(client.get(URL, {"date_from": stamp}).json()["data"]) == 1
    assert client.get(URL, {"date_to": stamp}).json()["data"] == []
    assert client.get(URL, {"date_from": "2999-01-01T00:00:00Z"}).json()["data"] == []
