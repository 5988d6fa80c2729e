"""Staff edit our own locations in the admin through the services (so partners get the push),
see partners' locations read-only, filter by owner, city and EVSE status, see a status map, and
import our stations from CSV with a dry-run preview."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from apps.locations.models import EVSE, Location
from apps.locations.services import evse_status_set, location_put_from_partner
from apps.locations.wire import LocationIn
from apps.partners.models import OutboxMessage
from echargo.ocpi.wire import validated
from tests.factories.locations import ConnectorData, EVSEData, LocationData, own_location

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/locations/location/"


def form_data(response) -> dict:
    """The POST data a browser would send back for an admin change form, unchanged."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms += formset.forms
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    for form in forms:
        for bound in form:
            if bound.field.disabled:
                continue
            value = bound.value()
            if bound.field.show_hidden_initial:
                # Fields with a callable default carry their initial value in a hidden input.
                data[bound.html_initial_name] = bound.field.prepare_value(bound.initial)
            if value is True:
                data[bound.html_name] = "on"
            elif value not in (False, None):
                data[bound.html_name] = value
    return data


@pytest.fixture
def partner_location(hub):
    data = validated(
        LocationIn,
        LocationData(country_code="DE", party_id="HBA", id="BERLIN-1", city="Berlin"),
    )
    location_put_from_partner(owner=hub.parties.get(party_id="HBA"), data=data)
    return Location.objects.get(location_id="BERLIN-1")


@pytest.fixture
def ours(cpo):
    return own_location(
        cpo,
        id="IST-1",
        city="Istanbul",
        evses=[EVSEData(uid="E1"), EVSEData(uid="E2"), EVSEData(uid="E3")],
    )


def test_changelist_shows_evse_status_counts_without_a_query_per_row(admin_client, cpo, ours):
    evse_status_set(location=ours, evse_uid="E2", status="CHARGING")
    assert "2 available, 1 charging" in admin_client.get(CHANGELIST).content.decode()

    def queries_for_changelist():
        with CaptureQueriesContext(db_connection) as queries:
            assert admin_client.get(CHANGELIST).status_code == 200
        return len(queries)

    few = queries_for_changelist()
    for i in range(10):
        own_location(cpo, id=f"MORE-{i}", evses=[EVSEData(), EVSEData()])
    assert queries_for_changelist() == few


def test_changelist_filters_by_owner_city_and_evse_status(admin_client, ours, partner_location):
    evse_status_set(location=ours, evse_uid="E1", status="OUTOFORDER")

    def listed(query):
        response = admin_client.get(CHANGELIST + query)
        return {location.location_id for location in response.context["cl"].result_list}

    assert listed("") == {"IST-1", "BERLIN-1"}
    assert listed("?ownership=own") == {"IST-1"}
    assert listed("?ownership=partner") == {"BERLIN-1"}
    assert listed("?city=Berlin") == {"BERLIN-1"}
    assert listed("?evse_status=OUTOFORDER") == {"IST-1"}
    assert listed("?evse_status=CHARGING") == set()


def test_partner_location_is_read_only(admin_client, partner_location):
    url = f"{CHANGELIST}{partner_location.pk}/change/"
    response = admin_client.get(url)
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
    assert admin_client.post(url, {"name": "Hijacked"}).status_code == 403
    partner_location.refresh_from_db()
    assert partner_location.name != "Hijacked"


def test_editing_our_location_saves_through_the_service_and_pushes(
    admin_client, admin_user, ours, bosphorus_receives
):
    OutboxMessage.objects.all().delete()
    url = f"{CHANGELIST}{ours.pk}/change/"
    data = form_data(admin_client.get(url))
    data.update({"name": "Taksim Meydani", "evses-1-status": "BLOCKED"})
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    ours.refresh_from_db()
    document = json.loads(ours.ocpi_json)
    assert document["name"] == "Taksim Meydani"
    assert [e["status"] for e in document["evses"]] == ["AVAILABLE", "BLOCKED", "AVAILABLE"]
    [message] = OutboxMessage.objects.filter(connection=bosphorus_receives)
    assert (message.method, json.loads(message.body)) == ("PUT", document)
    assert ours.history.first().history_user == admin_user


def test_invalid_admin_input_is_refused_and_nothing_changes(admin_client, ours):
    url = f"{CHANGELIST}{ours.pk}/change/"
    data = form_data(admin_client.get(url))
    data.update({"time_zone": "Europe/Atlantis", "latitude": "123.4"})
    response = admin_client.post(url, data)
    assert response.status_code == 200
    errors = str(response.context["inline_admin_formsets"][0].formset.non_form_errors())
    assert "time_zone" in errors
    assert "latitude" in errors
    ours.refresh_from_db()
    assert ours.time_zone == "Europe/Istanbul"


def test_adding_a_location_in_the_admin_creates_it_through_the_service(
    admin_client, cpo, bosphorus_receives
):
    response = admin_client.get(f"{CHANGELIST}add/")
    data = form_data(response)
    data.update(
        {
            "owner": cpo.pk,
            "location_id": "ANK-1",
            "publish": "on",
            "name": "Kizilay",
            "address": "Atatürk Bulvari 1",
            "city": "Ankara",
            "country": "TUR",
            "latitude": "39.92077",
            "longitude": "32.85411",
            "time_zone": "Europe/Istanbul",
        }
    )
    response = admin_client.post(f"{CHANGELIST}add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    location = Location.objects.get(location_key="ANK-1")
    assert json.loads(location.ocpi_json)["coordinates"]["latitude"] == "39.92077"
    assert OutboxMessage.objects.filter(connection=bosphorus_receives, method="PUT").exists()


def test_evse_status_change_in_the_admin_is_pushed_as_a_patch(
    admin_client, ours, bosphorus_receives
):
    OutboxMessage.objects.all().delete()
    evse = EVSE.objects.get(uid="E3")
    url = f"/admin/locations/evse/{evse.pk}/change/"
    data = form_data(admin_client.get(url))
    data["status"] = "OUTOFORDER"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    [message] = OutboxMessage.objects.all()
    assert (message.method, message.path) == ("PATCH", "TR/ECH/IST-1/E3")
    assert json.loads(message.body)["status"] == "OUTOFORDER"


def test_adding_an_evse_with_connectors_in_the_admin_puts_the_location(
    admin_client, ours, bosphorus_receives
):
    OutboxMessage.objects.all().delete()
    data = form_data(admin_client.get("/admin/locations/evse/add/"))
    connector = ConnectorData()
    data.update(
        {
            "location": ours.pk,
            "uid": "E4",
            "status": "AVAILABLE",
            "connectors-0-connector_id": "1",
            "connectors-0-standard": "CHADEMO",
            "connectors-0-format": "CABLE",
            "connectors-0-power_type": "DC",
            "connectors-0-max_voltage": "500",
            "connectors-0-max_amperage": "125",
            "connectors-0-tariff_ids": json.dumps(connector["tariff_ids"]),
        }
    )
    response = admin_client.post("/admin/locations/evse/add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    [message] = OutboxMessage.objects.all()
    body = json.loads(message.body)
    assert (message.method, [e["uid"] for e in body["evses"]]) == ("PUT", ["E1", "E2", "E3", "E4"])
    assert body["evses"][3]["connectors"][0]["standard"] == "CHADEMO"


def test_evse_without_connectors_is_refused_in_the_admin(admin_client, ours):
    data = form_data(admin_client.get("/admin/locations/evse/add/"))
    data.update({"location": ours.pk, "uid": "E5", "status": "AVAILABLE"})
    response = admin_client.post("/admin/locations/evse/add/", data)
    assert response.status_code == 200
    assert "connectors" in str(
        response.context["inline_admin_formsets"][0].formset.non_form_errors()
    )
    assert not EVSE.objects.filter(uid="E5").exists()


def test_map_shows_our_and_partner_stations_coloured_by_status_with_local_assets(
    admin_client, ours, partner_location
):
    for uid in ("E1", "E2", "E3"):
        evse_status_set(location=ours, evse_uid=uid, status="CHARGING")
    changelist = admin_client.get(CHANGELIST).content.decode()
    assert 'href="/admin/locations/location/map/"' in changelist

    response = admin_client.get(f"{CHANGELIST}map/")
    page = response.content.decode()
    points = {p["key"]: p for p in response.context["points"]}
    assert points["TR*ECH IST-1"]["state"] == "busy"
    assert points["TR*ECH IST-1"]["own"] is True
    assert points["DE*HBA BERLIN-1"]["state"] == "available"
    assert points["DE*HBA BERLIN-1"]["own"] is False
    assert 'id="location-points"' in page
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page)
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in scripts
    assert all(src.startswith("/static/") for src in scripts), "no CDN"
    assert finders.find("locations/map.js")


def test_map_tiles_come_from_settings_with_their_attribution(admin_client, ours, settings):
    assert 'data-tiles=""' in admin_client.get(f"{CHANGELIST}map/").content.decode()
    settings.MAP_TILES_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    settings.MAP_TILES_ATTRIBUTION = "&copy; Example contributors"
    page = admin_client.get(f"{CHANGELIST}map/").content.decode()
    assert 'data-tiles="https://tiles.example.org/{z}/{x}/{y}.png"' in page
    assert 'data-attribution="&amp;copy; Example contributors"' in page


def test_leaflet_is_served_by_us():
    # Leaflet from the npm registry, vendored under static/vendor (see its README there).
    assert finders.find("vendor/leaflet-1.9.4/leaflet.js")
    assert finders.find("vendor/leaflet-1.9.4/leaflet.css")


CSV = (
    "id,name,address,city,postal_code,country,latitude,longitude,time_zone,publish,"
    "facilities,connectors\n"
    "ANK-10,Ulus,Anafartalar Cd. 2,Ankara,06050,TUR,39.9413,32.8543,Europe/Istanbul,1,"
    "CAFE;WIFI,A1/1/IEC_62196_T2/SOCKET/AC_3_PHASE/230/32;A1/2/CHADEMO/CABLE/DC/500/125\n"
    "ANK-11,Bad row,Somewhere 1,Ankara,06050,TUR,139.9,32.85,Europe/Istanbul,1,,\n"
)


def import_csv(admin_client, text):
    page = admin_client.get(f"{CHANGELIST}import/")
    choices = page.context["form"].fields["format"].choices
    csv_format = next(value for value, label in choices if str(label).lower() == "csv")
    upload = SimpleUploadedFile("stations.csv", text.encode(), content_type="text/csv")
    return admin_client.post(f"{CHANGELIST}import/", {"import_file": upload, "format": csv_format})


def test_csv_import_previews_and_reports_errors_per_row_without_saving(
    admin_client, cpo, bosphorus_receives
):
    response = import_csv(admin_client, CSV)
    assert response.status_code == 200
    result = response.context["result"]
    assert result.has_validation_errors()
    [invalid] = result.invalid_rows
    assert invalid.number == 2
    assert "latitude" in str(invalid.error_dict)
    assert not Location.objects.exists(), "a dry run stores nothing"
    assert not OutboxMessage.objects.exists()


def test_csv_import_of_valid_rows_saves_through_the_service(admin_client, cpo, bosphorus_receives):
    valid = CSV.splitlines()[0] + "\n" + CSV.splitlines()[1] + "\n"
    preview = import_csv(admin_client, valid)
    assert not preview.context["result"].has_errors()
    confirm = preview.context["confirm_form"]
    response = admin_client.post(f"{CHANGELIST}process_import/", confirm.initial)
    assert response.status_code == 302
    location = Location.objects.get(location_key="ANK-10")
    document = json.loads(location.ocpi_json)
    assert document["facilities"] == ["CAFE", "WIFI"]
    assert document["coordinates"] == {"latitude": "39.94130", "longitude": "32.85430"}
    assert [(c["id"], c["standard"]) for c in document["evses"][0]["connectors"]] == [
        ("1", "IEC_62196_T2"),
        ("2", "CHADEMO"),
    ]
    [message] = OutboxMessage.objects.filter(connection=bosphorus_receives)
    assert message.method == "PUT"
    assert location.history.first().history_change_reason == "CSV import"
