"""Our eMSP Receiver stores partner CPOs' Locations, EVSEs and Connectors as OCPI 2.2.1 says:
PUT creates or replaces (201/200), PATCH merges and needs last_updated, parents follow their
children's last_updated, older updates never overwrite newer data, and a partner only ever
touches its own parties' objects."""

from __future__ import annotations

import copy

import pytest

from apps.locations.models import EVSE, Connector, Location
from tests.factories.locations import ConnectorData, EVSEData, LocationData
from tests.locations.conftest import example

pytestmark = pytest.mark.django_db

BASE = "/ocpi/emsp/2.2.1/locations"


def hub_location(**overrides):
    return LocationData(country_code="DE", party_id="HBA", id="HUB-1", **overrides)


@pytest.fixture
def client(api, hub):
    return api.as_token("hub-token")


@pytest.fixture
def stored(client):
    """DE*HBA's location HUB-1 with one EVSE (E1, connector 1), stored through a PUT."""
    data = hub_location(
        evses=[EVSEData(uid="E1", connectors=[ConnectorData(id="1")])],
        last_updated="2026-01-10T08:00:00Z",
    )
    response = client.put(f"{BASE}/DE/HBA/HUB-1", data, format="json")
    assert response.status_code == 201, response.json()
    return data


def get_data(client, path):
    response = client.get(f"{BASE}/{path}")
    assert response.status_code == 200, response.json()
    return response.json()["data"]


def db_state():
    """Everything the receiver may write, to prove a rejected request changed nothing."""
    return (
        list(Location.objects.order_by("pk").values()),
        list(EVSE.objects.order_by("pk").values()),
        list(Connector.objects.order_by("pk").values()),
        Location.history.count(),
        EVSE.history.count(),
        Connector.history.count(),
    )


# --- PUT -----------------------------------------------------------------------------------------


def test_put_of_new_location_answers_201_and_get_returns_it(client, stored):
    assert get_data(client, "DE/HBA/HUB-1") == stored
    location = Location.objects.get()
    assert location.owner.party_id == "HBA"
    assert location.owner.connection.name == "Roaming Hub"


def test_put_of_existing_location_answers_200(client, stored):
    response = client.put(f"{BASE}/DE/HBA/HUB-1", {**stored, "name": "Renamed"}, format="json")
    assert response.status_code == 200
    assert response.json()["status_code"] == 1000
    assert "data" not in response.json()
    assert get_data(client, "DE/HBA/HUB-1")["name"] == "Renamed"


def test_ids_and_parties_in_url_match_case_insensitively(client, stored):
    response = client.put(
        f"{BASE}/de/hba/hub-1", {**stored, "last_updated": "2026-01-11T00:00:00Z"}, format="json"
    )
    assert response.status_code == 200
    assert Location.objects.count() == 1
    assert get_data(client, "de/hba/Hub-1/e1/1")["id"] == "1"


def test_put_of_location_marks_evses_it_no_longer_lists_as_removed(client, stored):
    replacement = {
        **stored,
        "evses": [EVSEData(uid="E2", last_updated="2026-01-11T00:00:00Z")],
        "last_updated": "2026-01-11T00:00:00Z",
    }
    client.put(f"{BASE}/DE/HBA/HUB-1", replacement, format="json")
    evses = {e["uid"]: e for e in get_data(client, "DE/HBA/HUB-1")["evses"]}
    assert evses["E2"]["status"] == "AVAILABLE"
    assert evses["E1"]["status"] == "REMOVED"
    assert evses["E1"]["last_updated"] == "2026-01-11T00:00:00Z"
    assert EVSE.objects.count() == 2, "an EVSE is never deleted"


def test_put_of_new_evse_appends_it_and_bumps_location_last_updated(client, stored):
    evse = EVSEData(uid="E9", last_updated="2026-02-01T00:00:00Z")
    response = client.put(f"{BASE}/DE/HBA/HUB-1/E9", evse, format="json")
    assert response.status_code == 201
    location = get_data(client, "DE/HBA/HUB-1")
    assert [e["uid"] for e in location["evses"]] == ["E1", "E9"]
    assert location["last_updated"] == "2026-02-01T00:00:00Z"
    assert get_data(client, "DE/HBA/HUB-1/E9") == evse


def test_put_of_connector_replaces_it_and_bumps_evse_and_location(client, stored):
    connector = ConnectorData(id="1", max_amperage=16, last_updated="2026-02-01T00:00:00Z")
    response = client.put(f"{BASE}/DE/HBA/HUB-1/E1/1", connector, format="json")
    assert response.status_code == 200
    assert get_data(client, "DE/HBA/HUB-1/E1/1")["max_amperage"] == 16
    assert get_data(client, "DE/HBA/HUB-1/E1")["last_updated"] == "2026-02-01T00:00:00Z"
    assert get_data(client, "DE/HBA/HUB-1")["last_updated"] == "2026-02-01T00:00:00Z"


def test_put_of_evse_under_unknown_location_answers_2003_and_stores_nothing(client, hub):
    response = client.put(f"{BASE}/DE/HBA/NOPE/E1", EVSEData(uid="E1"), format="json")
    assert response.json()["status_code"] == 2003
    assert not EVSE.objects.exists()


def test_put_of_connector_under_unknown_evse_answers_2001(client, stored):
    before = db_state()
    response = client.put(f"{BASE}/DE/HBA/HUB-1/E7/1", ConnectorData(id="1"), format="json")
    assert response.json()["status_code"] == 2001
    assert db_state() == before


def test_older_put_does_not_overwrite_newer_data_but_is_acknowledged(client, stored):
    newer = {**stored, "name": "Newer", "last_updated": "2026-03-01T00:00:00Z"}
    client.put(f"{BASE}/DE/HBA/HUB-1", newer, format="json")
    older = {**stored, "name": "Older", "last_updated": "2026-02-01T00:00:00Z"}
    response = client.put(f"{BASE}/DE/HBA/HUB-1", older, format="json")
    assert response.status_code == 200
    assert response.json()["status_code"] == 1000
    assert get_data(client, "DE/HBA/HUB-1")["name"] == "Newer"


@pytest.mark.parametrize(
    ("path", "body_change"),
    [
        ("DE/HBA/HUB-1", {"id": "OTHER"}),
        ("DE/HBA/HUB-1", {"party_id": "HBB"}),
        ("DE/HBA/HUB-1", {"country_code": "NL"}),
    ],
)
def test_put_whose_body_disagrees_with_url_answers_2001(client, stored, path, body_change):
    before = db_state()
    response = client.put(f"{BASE}/{path}", {**stored, **body_change}, format="json")
    assert response.json()["status_code"] == 2001
    assert db_state() == before


def test_put_of_evse_with_other_uid_than_url_answers_2001(client, stored):
    response = client.put(f"{BASE}/DE/HBA/HUB-1/E1", EVSEData(uid="E2"), format="json")
    assert response.json()["status_code"] == 2001


@pytest.mark.parametrize(
    "change",
    [
        {"address": None},
        {"coordinates": {"latitude": "91.000000", "longitude": "4.000000"}},
        {"country": "DE"},
        {"time_zone": "Mars/Olympus_Mons"},
        {"evses": [{"uid": "E1", "status": "AVAILABLE", "connectors": [], "last_updated": "x"}]},
        {"evses": [EVSEData(uid="E1", status="available")]},
        {"publish": True, "publish_allowed_to": [{"uid": "X", "type": "RFID"}]},
        {"address": "x" * 256},
        {"state": "x" * 46},
        {"last_updated": "yesterday"},
        {"opening_times": {"twentyfourseven": False}},
    ],
)
def test_invalid_location_is_rejected_with_2001_and_nothing_stored(client, hub, change):
    response = client.put(f"{BASE}/DE/HBA/HUB-1", {**hub_location(), **change}, format="json")
    assert response.status_code == 200
    assert response.json()["status_code"] == 2001
    assert not Location.objects.exists()


def test_long_address_and_state_of_the_erratum_are_accepted(client, hub):
    data = hub_location(address="a" * 255, state="s" * 45)
    assert client.put(f"{BASE}/DE/HBA/HUB-1", data, format="json").status_code == 201


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'"text"', b'{"id": [}'],
)
def test_bad_bodies_never_cause_a_server_error(client, stored, body):
    for method in (client.put, client.patch):
        for path in ("DE/HBA/HUB-1", "DE/HBA/HUB-1/E1", "DE/HBA/HUB-1/E1/1"):
            response = method(f"{BASE}/{path}", body, content_type="application/json")
            assert response.status_code in (200, 400)
            assert response.json()["status_code"] == 2001


# --- PATCH ---------------------------------------------------------------------------------------


def test_patch_of_evse_status_updates_it_and_parent_last_updated(client, stored):
    patch = {"status": "CHARGING", "last_updated": "2026-02-01T10:00:00Z"}
    response = client.patch(f"{BASE}/DE/HBA/HUB-1/E1", patch, format="json")
    assert response.json()["status_code"] == 1000
    location = get_data(client, "DE/HBA/HUB-1")
    assert location["evses"][0]["status"] == "CHARGING"
    assert location["evses"][0]["last_updated"] == "2026-02-01T10:00:00Z"
    assert location["last_updated"] == "2026-02-01T10:00:00Z"
    assert location["evses"][0]["connectors"] == stored["evses"][0]["connectors"]


def test_patch_of_connector_bumps_evse_and_location(client, stored):
    patch = {"tariff_ids": ["NEW"], "last_updated": "2026-02-01T10:00:00Z"}
    client.patch(f"{BASE}/DE/HBA/HUB-1/E1/1", patch, format="json")
    location = get_data(client, "DE/HBA/HUB-1")
    assert location["evses"][0]["connectors"][0]["tariff_ids"] == ["NEW"]
    assert location["evses"][0]["last_updated"] == "2026-02-01T10:00:00Z"
    assert location["last_updated"] == "2026-02-01T10:00:00Z"


def test_patch_of_location_changes_only_the_given_fields(client, stored):
    patch = {"name": "Patched", "last_updated": "2026-02-01T10:00:00Z"}
    client.patch(f"{BASE}/DE/HBA/HUB-1", patch, format="json")
    assert get_data(client, "DE/HBA/HUB-1") == {**stored, **patch}


def test_patch_without_last_updated_answers_2001(client, stored):
    before = db_state()
    for path in ("DE/HBA/HUB-1", "DE/HBA/HUB-1/E1", "DE/HBA/HUB-1/E1/1"):
        response = client.patch(f"{BASE}/{path}", {"status": "CHARGING"}, format="json")
        assert response.json()["status_code"] == 2001
    assert db_state() == before


def test_older_patch_is_acknowledged_but_newer_status_kept(client, stored):
    client.patch(
        f"{BASE}/DE/HBA/HUB-1/E1",
        {"status": "CHARGING", "last_updated": "2026-02-01T10:05:00Z"},
        format="json",
    )
    response = client.patch(
        f"{BASE}/DE/HBA/HUB-1/E1",
        {"status": "AVAILABLE", "last_updated": "2026-02-01T10:00:00Z"},
        format="json",
    )
    assert response.json()["status_code"] == 1000
    assert get_data(client, "DE/HBA/HUB-1/E1")["status"] == "CHARGING"


def test_patch_with_invalid_value_answers_2001_and_changes_nothing(client, stored):
    before = db_state()
    response = client.patch(
        f"{BASE}/DE/HBA/HUB-1/E1",
        {"status": "BROKEN", "last_updated": "2026-02-01T10:00:00Z"},
        format="json",
    )
    assert response.json()["status_code"] == 2001
    assert db_state() == before


def test_patch_of_unknown_location_answers_2003(client, hub):
    response = client.patch(
        f"{BASE}/DE/HBA/NOPE/E1",
        {"status": "CHARGING", "last_updated": "2026-02-01T10:00:00Z"},
        format="json",
    )
    assert response.json()["status_code"] == 2003


# --- Party isolation and GET ---------------------------------------------------------------------


def test_partner_cannot_read_or_write_another_partys_locations(api, stored, bosphorus):
    client = api.as_token("bosphorus-token")
    assert client.get(f"{BASE}/DE/HBA/HUB-1").status_code == 404
    before = db_state()
    response = client.put(f"{BASE}/DE/HBA/HUB-1", hub_location(name="Hijack"), format="json")
    assert response.status_code == 404
    response = client.patch(
        f"{BASE}/DE/HBA/HUB-1",
        {"name": "Hijack", "last_updated": "2027-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 404
    assert db_state() == before


def test_partner_cannot_push_locations_for_a_party_that_is_not_a_cpo(api, bosphorus):
    data = LocationData(country_code="TR", party_id="BOS")
    response = api.as_token("bosphorus-token").put(
        f"{BASE}/TR/BOS/{data['id']}", data, format="json"
    )
    assert response.status_code == 404
    assert not Location.objects.exists()


def test_get_of_unknown_objects_answers_404_envelope(client, stored):
    for path in ("DE/HBA/NOPE", "DE/HBA/HUB-1/NOPE", "DE/HBA/HUB-1/E1/9"):
        response = client.get(f"{BASE}/{path}")
        assert response.status_code == 404
        assert response.json()["status_code"] == 2000


def test_receiver_base_url_answers_405_envelope(client):
    response = client.get(BASE)
    assert response.status_code == 405
    assert response.json()["status_code"] == 2000


def test_receiver_needs_a_token(api, stored):
    assert api.as_token(None).get(f"{BASE}/DE/HBA/HUB-1").status_code == 401


# --- The spec's own examples ---------------------------------------------------------------------

VALID_LOCATIONS = [
    "location_example",
    "location_example_parking_garage_opening_hours",
    "location_example_uc2_destination_charger",
    "location_example_uc3_destination_charger_not_published",
    "location_example_uc4_limited_visibility",
    "location_example_uc5_home_charge_point",
]


@pytest.mark.parametrize("name", VALID_LOCATIONS)
def test_official_location_examples_are_accepted_as_is_and_read_back_unchanged(
    api, examples_cpo, name
):
    client = api.as_token("examples-token")
    location = example(name)
    url = f"{BASE}/{location['country_code']}/{location['party_id']}/{location['id']}"
    response = client.put(url, location, format="json")
    assert response.status_code == 201, response.json()
    assert client.get(url).json()["data"] == location


@pytest.fixture
def gent(api, examples_cpo):
    client = api.as_token("examples-token")
    client.put(f"{BASE}/BE/BEC/LOC1", example("location_example"), format="json")
    return client


@pytest.mark.parametrize(
    ("name", "path", "field"),
    [
        ("location_patch_example_location", "BE/BEC/LOC1", "name"),
        ("location_patch_example_status", "BE/BEC/LOC1/3256", "status"),
        ("location_patch_example_remove_evse", "BE/BEC/LOC1/3256", "status"),
        ("location_patch_example_tariff", "BE/BEC/LOC1/3256/1", "tariff_ids"),
    ],
)
def test_official_patch_examples_are_applied(gent, name, path, field):
    patch = example(name)
    response = gent.patch(f"{BASE}/{path}", patch, format="json")
    assert response.json()["status_code"] == 1000
    stored = gent.get(f"{BASE}/{path}").json()["data"]
    assert stored[field] == patch[field]
    assert stored["last_updated"] == patch["last_updated"]
    assert gent.get(f"{BASE}/BE/BEC/LOC1").json()["data"]["last_updated"] == patch["last_updated"]


@pytest.mark.parametrize(
    ("name", "wrap"),
    [
        ("location_energymix_example_simple", None),
        ("location_energymix_example_energy_provider", None),
        ("location_energymix_example_complete", None),
        ("location_regularhours_example", None),
        ("location_hours_247_open_exception_closing", "opening_times"),
        ("location_hours_opening_hours_with_exceptional_closing", "opening_times"),
        ("location_hours_opening_hours_with_exceptional_opening", "opening_times"),
    ],
)
def test_official_fragment_examples_are_accepted_in_a_location_patch(gent, name, wrap):
    fragment = example(name)
    patch = {wrap: fragment} if wrap else fragment
    response = gent.patch(
        f"{BASE}/BE/BEC/LOC1", {**patch, "last_updated": "2020-01-01T00:00:00Z"}, format="json"
    )
    assert response.json()["status_code"] == 1000, response.json()
    stored = gent.get(f"{BASE}/BE/BEC/LOC1").json()["data"]
    for key, value in patch.items():
        assert stored[key] == value


def test_invalid_official_put_evse_example_is_rejected_and_nothing_stored(gent):
    """location_put_example_add_evse.json: its connector lacks power_type, max_voltage,
    max_amperage and last_updated (see tests/data/README.md)."""
    before = db_state()
    document_before = copy.deepcopy(gent.get(f"{BASE}/BE/BEC/LOC1").json()["data"])
    response = gent.put(
        f"{BASE}/BE/BEC/LOC1/3256", example("location_put_example_add_evse"), format="json"
    )
    assert response.json()["status_code"] == 2001
    assert "power_type" in response.json()["status_message"]
    assert db_state() == before
    assert gent.get(f"{BASE}/BE/BEC/LOC1").json()["data"] == document_before


def test_partner_writes_are_kept_in_history_under_the_system_user(client, stored):
    client.patch(
        f"{BASE}/DE/HBA/HUB-1/E1",
        {"status": "CHARGING", "last_updated": "2026-02-01T10:00:00Z"},
        format="json",
    )
    evse = EVSE.objects.get()
    statuses = list(evse.history.order_by("history_date").values_list("status", flat=True))
    assert statuses == ["AVAILABLE", "CHARGING"]
    record = evse.history.first()
    assert record.history_user.username == "ocpi-system"
    assert record.history_change_reason == "OCPI push or pull from the CPO"
    assert Location.history.filter(id=evse.location_id).count() == 2
