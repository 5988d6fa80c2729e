"""Our eMSP CDR receiver (OCPI 2.2.1 mod_cdrs): POST stores a partner CPO's CDR once and
answers with a Location we serve by GET; a re-send is answered the same; another CDR under a
stored id is refused; a CPO only posts and reads its own parties' CDRs."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from apps.cdrs.models import Cdr
from apps.cdrs.signals import cdr_received
from tests.factories.cdrs import CdrData
from tests.factories.tokens import TokenFactory

pytestmark = pytest.mark.django_db
URL = "/ocpi/emsp/2.2.1/cdrs"


@pytest.fixture
def received():
    got: list[Cdr] = []

    def note(sender, cdr, **kwargs):
        got.append(cdr)

    cdr_received.connect(note)
    yield got
    cdr_received.disconnect(note)


def test_a_posted_cdr_is_stored_and_its_location_serves_it(api, hub, our_parties, received):
    emsp = next(p for p in our_parties if p.role == "EMSP")
    ours = TokenFactory(owner=emsp, country_code="TR", party_id="ECH", uid="04AB")
    client = api.as_token("hub-token")
    body = CdrData(id="CDR-1")

    response = client.post(URL, body, format="json")

    assert response.status_code == 200
    assert response.json()["status_code"] == 1000
    location = response.headers["Location"]
    assert location.endswith("/ocpi/emsp/2.2.1/cdrs/DE/HBA/CDR-1")
    cdr = Cdr.objects.get()
    assert cdr.received_from == hub
    assert cdr.owner.party_id == "HBA"
    assert cdr.token == ours
    assert cdr.total_energy_cost_incl_vat == Decimal("1.2")
    assert cdr.location_city == "İstanbul"
    assert [c.pk for c in received] == [cdr.pk]

    got = client.get(urlsplit(location).path)
    assert got.status_code == 200
    data = got.json()["data"]
    assert data["id"] == "CDR-1"
    assert data["total_cost"] == {"excl_vat": 2, "incl_vat": 2.4}
    assert data["cdr_token"]["uid"] == "04AB"


def test_the_same_cdr_twice_is_stored_once_and_answered_the_same(api, hub, received):
    client = api.as_token("hub-token")
    body = CdrData(id="CDR-2")
    first = client.post(URL, body, format="json")
    # A retry re-stamped by the sender is the same CDR.
    second = client.post(URL, {**body, "last_updated": "2026-03-02T11:10:00Z"}, format="json")

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["status_code"] == second.json()["status_code"] == 1000
    assert first.headers["Location"] == second.headers["Location"]
    assert Cdr.objects.count() == 1
    assert Cdr.objects.get().history.count() == 1
    assert len(received) == 1


def test_a_different_cdr_under_a_stored_id_is_refused_and_nothing_changes(api, hub, received):
    client = api.as_token("hub-token")
    body = CdrData(id="CDR-3")
    client.post(URL, body, format="json")
    before = Cdr.objects.get().ocpi_json

    changed = {**body, "total_cost": {"excl_vat": "9.00", "incl_vat": "10.80"}}
    response = client.post(URL, changed, format="json")

    assert response.json()["status_code"] == 2001
    assert "immutable" in response.json()["status_message"]
    assert Cdr.objects.get().ocpi_json == before
    assert len(received) == 1


def test_a_cpo_posts_only_cdrs_of_its_own_parties(api, hub, bosphorus):
    response = api.as_token("bosphorus-token").post(URL, CdrData(id="CDR-4"), format="json")
    assert response.status_code == 404
    assert response.json()["status_code"] in (2000, 2003)
    other = api.as_token("hub-token").post(
        URL, CdrData(id="CDR-5", country_code="NL", party_id="XYZ"), format="json"
    )
    assert other.status_code == 404
    assert not Cdr.objects.exists()


def test_get_of_another_partys_cdr_is_unknown(api, hub, bosphorus):
    api.as_token("hub-token").post(URL, CdrData(id="CDR-6"), format="json")
    assert api.as_token("bosphorus-token").get(f"{URL}/DE/HBA/CDR-6").status_code == 404
    # The hub's other party does not own it either.
    missing = api.as_token("hub-token").get(f"{URL}/DE/HBB/CDR-6")
    assert missing.status_code == 404


def test_a_credit_cdr_needs_its_reference_and_may_be_negative(api, hub):
    client = api.as_token("hub-token")
    credit = CdrData(
        id="CDR-7-C",
        credit=True,
        total_cost={"excl_vat": "-2.00", "incl_vat": "-2.40"},
    )
    assert client.post(URL, credit, format="json").json()["status_code"] == 2001
    credit["credit_reference_id"] = "CDR-7"
    assert client.post(URL, credit, format="json").json()["status_code"] == 1000
    stored = Cdr.objects.get()
    assert stored.credit
    assert stored.total_cost_excl_vat == Decimal("-2")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("auth_method", "MAGIC"),
        ("total_energy", "lots"),
        ("charging_periods", []),
        ("cdr_token", {"uid": "X"}),
        ("credit", "yes"),
        ("end_date_time", "2026-03-02T09:00:00Z"),
        ("id", "X" * 37),
    ],
)
def test_an_invalid_cdr_is_refused_2001(api, hub, field, value):
    body = {**CdrData(), field: value}
    response = api.as_token("hub-token").post(URL, body, format="json")
    assert response.json()["status_code"] == 2001
    assert not Cdr.objects.exists()
