"""Our eMSP tariffs Receiver: partner CPOs PUT, GET and DELETE their own tariffs, nobody else's.

OCPI 2.2.1 mod_tariffs: {tariffs_endpoint_url}/{country_code}/{party_id}/{tariff_id}; no PATCH.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.tariffs.models import PriceComponent, Tariff, TariffElement, TariffRestrictions
from apps.tariffs.services import tariff_delete_from_partner
from apps.tariffs.wire import TariffSerializer
from echargo.ocpi.wire import ocpi_loads
from tests.conftest import OCPI_EXAMPLES
from tests.factories.tariffs import TariffData, partner_tariff

pytestmark = pytest.mark.django_db

URL = "/ocpi/emsp/2.2.1/tariffs"
# Official examples that are not valid 2.2.1 Tariff objects as they stand (DIGEST.md 5.1 lists
# the known example defects; this one has no last_updated, a required field).
INVALID_EXAMPLES = {"tariff_put_example.json": "last_updated"}
VALID_EXAMPLES = sorted(
    p.name
    for p in [*OCPI_EXAMPLES.glob("tariff_*.json"), *OCPI_EXAMPLES.glob("tariffrestriction_*.json")]
    if p.name not in INVALID_EXAMPLES
)


def example_text(name: str) -> str:
    return (OCPI_EXAMPLES / name).read_text()


def exact(response) -> dict:
    """The response body with numbers parsed exactly."""
    return json.loads(response.content, parse_float=Decimal)


def put_raw(api, url: str, text: str, token: str = "all-token"):
    return api.as_token(token).put(url, data=text, content_type="application/json")


def tariff_url(body: dict) -> str:
    return f"{URL}/{body['country_code']}/{body['party_id']}/{body['id']}"


def snapshot() -> list:
    """Everything the receiver can write, to show a refused PUT changed nothing."""
    return [
        list(Tariff.objects.order_by("pk").values()),
        list(TariffElement.objects.order_by("pk").values()),
        list(PriceComponent.objects.order_by("pk").values()),
        list(TariffRestrictions.objects.order_by("pk").values()),
    ]


def test_example_list_covers_every_official_tariff_example():
    names = {p.name for p in OCPI_EXAMPLES.glob("tariff*.json")}
    assert names == set(VALID_EXAMPLES) | set(INVALID_EXAMPLES)
    assert len(VALID_EXAMPLES) == 19


@pytest.mark.parametrize("name", VALID_EXAMPLES)
def test_official_tariff_examples_are_accepted_as_is_and_served_back_unchanged(api, allego, name):
    text = example_text(name)
    body = json.loads(text, parse_float=Decimal)

    response = put_raw(api, tariff_url(body), text)

    assert response.status_code == 201, response.content
    assert response.json()["status_code"] == 1000
    stored = api.as_token("all-token").get(tariff_url(body))
    assert stored.status_code == 200
    assert exact(stored)["data"] == body
    tariff = Tariff.objects.get()
    assert tariff.owner == allego.parties.get(role="CPO")
    assert tariff.elements.count() == len(body["elements"])
    assert PriceComponent.objects.count() == sum(
        len(e["price_components"]) for e in body["elements"]
    )
    assert TariffRestrictions.objects.count() == sum("restrictions" in e for e in body["elements"])


@pytest.mark.parametrize(("name", "field"), INVALID_EXAMPLES.items())
def test_defective_official_examples_are_refused_and_nothing_is_stored(api, allego, name, field):
    text = example_text(name)
    body = json.loads(text)

    response = put_raw(api, tariff_url(body), text)

    assert response.status_code == 200
    assert response.json()["status_code"] == 2001
    assert field in response.json()["status_message"]
    assert not Tariff.objects.exists()
    assert not TariffElement.objects.exists()


def test_stores_prices_exactly_and_tells_absent_vat_from_zero_vat(api, allego):
    text = """{"country_code": "DE", "party_id": "ALL", "id": "EXACT", "currency": "EUR",
      "elements": [{"price_components": [
        {"type": "ENERGY", "price": 0.1234, "vat": 5.2, "step_size": 1},
        {"type": "TIME", "price": 1.10, "vat": 0, "step_size": 60},
        {"type": "PARKING_TIME", "price": 3, "step_size": 300}]}],
      "last_updated": "2026-03-01T10:00:00Z"}"""

    assert put_raw(api, f"{URL}/DE/ALL/EXACT", text).status_code == 201

    energy, time, parking = PriceComponent.objects.order_by("position")
    assert (energy.price, energy.vat) == (Decimal("0.1234"), Decimal("5.2"))
    assert (time.price, time.vat) == (Decimal("1.1"), Decimal(0))
    assert (parking.price, parking.vat) == (Decimal(3), None)
    served = exact(api.as_token("all-token").get(f"{URL}/DE/ALL/EXACT"))["data"]
    components = served["elements"][0]["price_components"]
    assert components[0]["price"] == Decimal("0.1234")
    assert components[1]["vat"] == 0
    assert "vat" not in components[2]
    assert '"price":0.1234' in Tariff.objects.get().ocpi_json


def test_put_of_a_known_tariff_replaces_it_whole_and_answers_200(api, allego):
    first = TariffData(
        country_code="DE",
        party_id="ALL",
        id="T1",
        tariff_alt_url="https://allego.example/tariffs/t1",
        last_updated="2026-03-01T10:00:00Z",
    )
    api.as_token("all-token").put(f"{URL}/DE/ALL/T1", first, format="json")
    second = TariffData(
        country_code="DE",
        party_id="ALL",
        id="T1",
        elements=[
            {"price_components": [{"type": "TIME", "price": 2, "step_size": 60}]},
            {"price_components": [{"type": "FLAT", "price": 1, "step_size": 1}]},
        ],
        last_updated="2026-03-02T10:00:00Z",
    )

    response = api.as_token("all-token").put(f"{URL}/DE/ALL/T1", second, format="json")

    assert response.status_code == 200
    assert response.json()["status_code"] == 1000
    served = exact(api.as_token("all-token").get(f"{URL}/DE/ALL/T1"))["data"]
    assert "tariff_alt_url" not in served, "an omitted optional field is removed by a PUT"
    assert [e["price_components"][0]["type"] for e in served["elements"]] == ["TIME", "FLAT"]
    assert Tariff.objects.count() == 1
    assert list(PriceComponent.objects.values_list("type", flat=True)) == ["TIME", "FLAT"]


def test_put_older_than_what_we_hold_does_not_overwrite_newer_data(api, allego):
    newer = TariffData(country_code="DE", party_id="ALL", id="T1", currency="EUR")
    newer["last_updated"] = "2026-03-02T10:00:00Z"
    api.as_token("all-token").put(f"{URL}/DE/ALL/T1", newer, format="json")
    before = snapshot()
    older = {**newer, "currency": "USD", "last_updated": "2026-03-01T10:00:00Z"}

    response = api.as_token("all-token").put(f"{URL}/DE/ALL/T1", older, format="json")

    assert response.json()["status_code"] == 1000
    assert "newer" in response.json()["status_message"]
    assert snapshot() == before
    served = api.as_token("all-token").get(f"{URL}/DE/ALL/T1").json()["data"]
    assert (served["currency"], served["last_updated"]) == ("EUR", "2026-03-02T10:00:00Z")


def test_url_party_and_id_are_case_insensitive(api, allego):
    body = TariffData(country_code="DE", party_id="ALL", id="Night-Rate")
    assert api.as_token("all-token").put(
        f"{URL}/de/all/night-rate", body, format="json"
    ).status_code == (201)

    response = api.as_token("all-token").get(f"{URL}/De/aLL/NIGHT-RATE")

    assert response.status_code == 200
    assert response.json()["data"]["id"] == "Night-Rate"


def test_get_of_an_unknown_tariff_is_404(api, allego):
    response = api.as_token("all-token").get(f"{URL}/DE/ALL/NOPE")
    assert response.status_code == 404
    assert response.json()["status_code"] == 2000


def test_delete_removes_the_tariff_and_is_idempotent(api, allego, allego_cpo):
    partner_tariff(allego_cpo, id="OLD")

    response = api.as_token("all-token").delete(f"{URL}/DE/ALL/old")

    assert response.status_code == 200
    assert response.json()["status_code"] == 1000
    assert not Tariff.objects.exists()
    assert not TariffElement.objects.exists()
    again = api.as_token("all-token").delete(f"{URL}/DE/ALL/OLD")
    assert again.json()["status_code"] == 1000
    assert api.as_token("all-token").get(f"{URL}/DE/ALL/OLD").status_code == 404


@pytest.mark.parametrize("method", ["patch", "post"])
def test_patch_and_post_are_not_allowed(api, allego, allego_cpo, method):
    partner_tariff(allego_cpo, id="T1")
    response = getattr(api.as_token("all-token"), method)(
        f"{URL}/DE/ALL/T1", {"currency": "USD"}, format="json"
    )
    assert response.status_code == 405
    assert response.json()["status_code"] == 2000
    assert Tariff.objects.get().currency == "TRY"


def test_receiver_base_url_answers_405_with_the_envelope(api, allego):
    response = api.as_token("all-token").get(URL)
    assert response.status_code == 405
    assert response.json()["status_code"] == 2000


def test_unauthenticated_calls_are_refused(api, allego):
    response = api.as_token(None).get(f"{URL}/DE/ALL/T1")
    assert response.status_code == 401


# --- Party isolation ------------------------------------------------------------------------------


def test_partner_cannot_put_a_tariff_for_a_party_it_does_not_represent(api, allego, hub):
    body = TariffData(country_code="DE", party_id="HBA", id="T1")
    response = api.as_token("all-token").put(f"{URL}/DE/HBA/T1", body, format="json")
    assert response.status_code == 404
    assert not Tariff.objects.exists()


def test_partner_cannot_read_or_delete_another_partys_tariff(api, allego, hub):
    hba = hub.parties.get(party_id="HBA")
    partner_tariff(hba, id="T1")

    assert api.as_token("all-token").get(f"{URL}/DE/HBA/T1").status_code == 404
    assert api.as_token("all-token").delete(f"{URL}/DE/HBA/T1").status_code == 404
    assert Tariff.objects.filter(owner=hba).exists()


def test_hub_reads_only_the_tariffs_of_the_party_in_the_url(api, hub):
    partner_tariff(hub.parties.get(party_id="HBA"), id="T1", currency="EUR")
    partner_tariff(hub.parties.get(party_id="HBB"), id="T1", currency="USD")

    hba = api.as_token("hub-token").get(f"{URL}/DE/HBA/T1").json()["data"]
    hbb = api.as_token("hub-token").get(f"{URL}/DE/HBB/T1").json()["data"]

    assert (hba["party_id"], hba["currency"]) == ("HBA", "EUR")
    assert (hbb["party_id"], hbb["currency"]) == ("HBB", "USD")


def test_an_emsp_only_party_cannot_push_tariffs(api, bosphorus):
    """Tariffs are owned by CPOs (mod_tariffs); TR*BOS is an eMSP."""
    body = TariffData(country_code="TR", party_id="BOS", id="T1")
    response = api.as_token("bosphorus-token").put(f"{URL}/TR/BOS/T1", body, format="json")
    assert response.status_code == 404
    assert not Tariff.objects.exists()


def test_partner_cannot_write_our_own_tariffs(api, allego, our_cpo):
    body = TariffData(country_code="TR", party_id="ECH", id="T1")
    response = api.as_token("all-token").put(f"{URL}/TR/ECH/T1", body, format="json")
    assert response.status_code == 404
    assert not Tariff.objects.exists()


@pytest.mark.parametrize(
    ("url_tail", "change"),
    [
        ("DE/ALL/T1", {"party_id": "XYZ"}),
        ("DE/ALL/T1", {"country_code": "NL"}),
        ("DE/ALL/T1", {"id": "T2"}),
        ("DE/ALL/T1", {"id": 1}),
    ],
)
def test_body_owner_or_id_differing_from_the_url_is_2001(api, allego, url_tail, change):
    body = {**TariffData(country_code="DE", party_id="ALL", id="T1"), **change}
    response = api.as_token("all-token").put(f"{URL}/{url_tail}", body, format="json")
    assert response.status_code == 200
    assert response.json()["status_code"] == 2001
    assert not Tariff.objects.exists()


# --- Validation -----------------------------------------------------------------------------------

COMPONENT = {"type": "ENERGY", "price": 0.25, "step_size": 1}


def element(restrictions=None, components=None):
    result = {"price_components": components or [COMPONENT]}
    if restrictions is not None:
        result["restrictions"] = restrictions
    return result


INVALID = {
    "unknown tariff type": {"type": "CHEAP"},
    "type in lower case": {"type": "regular"},
    "currency too long": {"currency": "EURO"},
    "currency lower case": {"currency": "eur"},
    "no currency": {"currency": None},
    "no elements": {"elements": []},
    "elements not a list": {"elements": {"price_components": [COMPONENT]}},
    "element without components": {"elements": [{"price_components": []}]},
    "element not an object": {"elements": ["ENERGY"]},
    "unknown dimension": {"elements": [element(components=[{**COMPONENT, "type": "POWER"}])]},
    "price not a number": {"elements": [element(components=[{**COMPONENT, "price": "cheap"}])]},
    "negative price": {"elements": [element(components=[{**COMPONENT, "price": -0.1}])]},
    "price too large": {"elements": [element(components=[{**COMPONENT, "price": 1e20}])]},
    "negative vat": {"elements": [element(components=[{**COMPONENT, "vat": -5}])]},
    "fractional step_size": {"elements": [element(components=[{**COMPONENT, "step_size": 1.5}])]},
    "negative step_size": {"elements": [element(components=[{**COMPONENT, "step_size": -1}])]},
    "step_size beyond int32": {
        "elements": [element(components=[{**COMPONENT, "step_size": 2**40}])]
    },
    "no step_size": {"elements": [element(components=[{"type": "FLAT", "price": 1}])]},
    "start_time 24:00": {"elements": [element({"start_time": "24:00"})]},
    "start_time without leading zero": {"elements": [element({"start_time": "9:00"})]},
    "end_time minute 60": {"elements": [element({"end_time": "12:60"})]},
    "end_time with seconds": {"elements": [element({"end_time": "12:00:00"})]},
    "start_date month 13": {"elements": [element({"start_date": "2026-13-01"})]},
    "end_date two-digit year": {"elements": [element({"end_date": "26-01-01"})]},
    "end_date day 32": {"elements": [element({"end_date": "2026-01-32"})]},
    "start_date a DateTime": {"elements": [element({"start_date": "2026-01-01T00:00:00Z"})]},
    "unknown weekday": {"elements": [element({"day_of_week": ["MON"]})]},
    "weekday not a list": {"elements": [element({"day_of_week": "MONDAY"})]},
    "unknown reservation type": {"elements": [element({"reservation": "RESERVED"})]},
    "reservation element with ENERGY": {
        "elements": [
            element(
                {"reservation": "RESERVATION"}, [{"type": "ENERGY", "price": 1, "step_size": 1}]
            )
        ]
    },
    "reservation element with PARKING_TIME": {
        "elements": [
            element(
                {"reservation": "RESERVATION_EXPIRES"},
                [{"type": "PARKING_TIME", "price": 1, "step_size": 1}],
            )
        ]
    },
    "negative min_kwh": {"elements": [element({"min_kwh": -1})]},
    "max_power not a number": {"elements": [element({"max_power": "fast"})]},
    "fractional min_duration": {"elements": [element({"min_duration": 1.5})]},
    "negative max_duration": {"elements": [element({"max_duration": -60})]},
    "restrictions not an object": {"elements": [element(["MONDAY"])]},
    "alt text without text": {"tariff_alt_text": [{"language": "en"}]},
    "alt text with a null item": {"tariff_alt_text": [None]},
    "alt text language too long": {"tariff_alt_text": [{"language": "eng", "text": "x"}]},
    "alt text too long": {"tariff_alt_text": [{"language": "en", "text": "x" * 513}]},
    "alt url not a URL": {"tariff_alt_url": "see our website"},
    "alt url too long": {"tariff_alt_url": "https://x.example/" + "a" * 250},
    "min_price without excl_vat": {"min_price": {"incl_vat": 1}},
    "min_price above max_price": {
        "min_price": {"excl_vat": 5, "incl_vat": 6},
        "max_price": {"excl_vat": 4, "incl_vat": 5},
    },
    "start_date_time not a DateTime": {"start_date_time": "tomorrow"},
    "last_updated missing": {"last_updated": None},
    "last_updated too vague": {"last_updated": "2026-03"},
    "energy mix without is_green_energy": {"energy_mix": {"energy_sources": []}},
    "energy source unknown": {
        "energy_mix": {
            "is_green_energy": True,
            "energy_sources": [{"source": "HAMSTERS", "percentage": 100}],
        }
    },
    "energy source null": {"energy_mix": {"is_green_energy": True, "energy_sources": [None]}},
    "energy source above 100 %": {
        "energy_mix": {
            "is_green_energy": True,
            "energy_sources": [{"source": "SOLAR", "percentage": 101}],
        }
    },
    "id too long": {"id": "T" * 37},
    "id with a control character": {"id": "T\n1"},
}


# Where each refusal must point (the start of the 2001 status_message).
INVALID_WHERE = {
    "unknown tariff type": "type",
    "type in lower case": "type",
    "currency too long": "currency",
    "currency lower case": "currency",
    "no currency": "currency",
    "no elements": "elements",
    "elements not a list": "elements",
    "element without components": "elements.0.price_components",
    "element not an object": "elements.0",
    "unknown dimension": "price_components.0.type",
    "price not a number": "price_components.0.price",
    "negative price": "price_components.0.price",
    "price too large": "price_components.0.price",
    "negative vat": "price_components.0.vat",
    "fractional step_size": "price_components.0.step_size",
    "negative step_size": "price_components.0.step_size",
    "step_size beyond int32": "price_components.0.step_size",
    "no step_size": "price_components.0.step_size",
    "start_time 24:00": "restrictions.start_time",
    "start_time without leading zero": "restrictions.start_time",
    "end_time minute 60": "restrictions.end_time",
    "end_time with seconds": "restrictions.end_time",
    "start_date month 13": "restrictions.start_date",
    "end_date two-digit year": "restrictions.end_date",
    "end_date day 32": "restrictions.end_date",
    "start_date a DateTime": "restrictions.start_date",
    "unknown weekday": "restrictions.day_of_week",
    "weekday not a list": "restrictions.day_of_week",
    "unknown reservation type": "restrictions.reservation",
    "reservation element with ENERGY": "only contain FLAT and TIME",
    "reservation element with PARKING_TIME": "only contain FLAT and TIME",
    "negative min_kwh": "restrictions.min_kwh",
    "max_power not a number": "restrictions.max_power",
    "fractional min_duration": "restrictions.min_duration",
    "negative max_duration": "restrictions.max_duration",
    "restrictions not an object": "elements.0.restrictions",
    "alt text without text": "tariff_alt_text.0.text",
    "alt text with a null item": "tariff_alt_text.0",
    "alt text language too long": "tariff_alt_text.0.language",
    "alt text too long": "tariff_alt_text.0.text",
    "alt url not a URL": "tariff_alt_url",
    "alt url too long": "tariff_alt_url",
    "min_price without excl_vat": "min_price.excl_vat",
    "min_price above max_price": "min_price.excl_vat is higher",
    "start_date_time not a DateTime": "start_date_time",
    "last_updated missing": "last_updated",
    "last_updated too vague": "last_updated",
    "energy mix without is_green_energy": "energy_mix.is_green_energy",
    "energy source unknown": "energy_sources.0.source",
    "energy source null": "energy_sources.0",
    "energy source above 100 %": "energy_sources.0.percentage",
    "id too long": "id",
    "id with a control character": "id",
}


def test_every_invalid_case_says_where_it_fails():
    assert INVALID_WHERE.keys() == INVALID.keys()


@pytest.mark.parametrize("name", INVALID.keys())
def test_invalid_tariff_is_2001_and_leaves_stored_data_as_it_was(api, allego, allego_cpo, name):
    change = INVALID[name]
    tariff_id = change.get("id") if isinstance(change.get("id"), str) else "T1"
    partner_tariff(allego_cpo, id="T1", last_updated="2026-01-01T00:00:00Z")
    before = snapshot()
    body = {
        **TariffData(country_code="DE", party_id="ALL", id="T1"),
        "last_updated": "2026-03-01T00:00:00Z",
        **change,
    }
    body = {k: v for k, v in body.items() if v is not None}

    response = api.as_token("all-token").put(
        f"{URL}/DE/ALL/{tariff_id.replace(chr(10), '%0A')}", body, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["status_code"] == 2001, response.json()
    assert INVALID_WHERE[name] in response.json()["status_message"]
    assert snapshot() == before


@pytest.mark.parametrize(
    "text",
    [
        '{"country_code": "DE", "party_id": "ALL", "id": "T1", "currency": "EUR", '
        '"elements": [{"price_components": [{"type": "ENERGY", "price": NaN, "step_size": 1}]}], '
        '"last_updated": "2026-03-01T00:00:00Z"}',
        '{"country_code": "DE", "party_id": "ALL", "id": "T1", "currency": "EUR", '
        '"elements": [{"price_components": [{"type": "ENERGY", "price": Infinity, '
        '"step_size": 1}]}], "last_updated": "2026-03-01T00:00:00Z"}',
        '[{"id": "T1"}]',
        '"T1"',
        "null",
    ],
    ids=["NaN price", "Infinity price", "a list", "a string", "null"],
)
def test_odd_json_bodies_are_2001_never_500(api, allego, text):
    response = put_raw(api, f"{URL}/DE/ALL/T1", text)
    assert response.status_code == 200
    assert response.json()["status_code"] == 2001
    assert not Tariff.objects.exists()


def test_body_that_is_not_json_is_http_400(api, allego):
    response = put_raw(api, f"{URL}/DE/ALL/T1", "{not json")
    assert response.status_code == 400
    assert response.json()["status_code"] == 2001


def test_stored_document_is_what_the_rows_render(api, allego):
    from apps.tariffs.selectors import tariff_with_rows
    from apps.tariffs.wire import tariff_data_from_rows, tariff_document

    for name in VALID_EXAMPLES:
        text = example_text(name)
        body = json.loads(text)
        body["id"] = name[:36]
        put_raw(api, f"{URL}/DE/ALL/{body['id']}", json.dumps(body))
    assert Tariff.objects.count() == len(VALID_EXAMPLES)

    for tariff in tariff_with_rows():
        assert tariff_document(tariff_data_from_rows(tariff)) == ocpi_loads(tariff.ocpi_json)


def test_same_last_updated_with_other_content_replaces_what_we_hold(api, allego):
    """Partners do not always bump last_updated (ocpi/ocpi#428): only an older one is ignored."""
    body = TariffData(country_code="DE", party_id="ALL", id="T1", currency="EUR")
    api.as_token("all-token").put(f"{URL}/DE/ALL/T1", body, format="json")

    response = api.as_token("all-token").put(
        f"{URL}/DE/ALL/T1", {**body, "currency": "USD"}, format="json"
    )

    assert response.status_code == 200
    assert Tariff.objects.get().currency == "USD"


# --- Anything a partner may send ----------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3)
    ),
    max_leaves=8,
)
# Where a value is put in tariff_4_complex.json (elements[2] has restrictions).
FIELD_PATHS = [
    ("currency",),
    ("type",),
    ("tariff_alt_text",),
    ("tariff_alt_url",),
    ("min_price",),
    ("max_price", "excl_vat"),
    ("start_date_time",),
    ("energy_mix",),
    ("last_updated",),
    ("elements",),
    ("elements", 0),
    ("elements", 0, "price_components"),
    ("elements", 0, "price_components", 0),
    ("elements", 0, "price_components", 0, "type"),
    ("elements", 0, "price_components", 0, "price"),
    ("elements", 0, "price_components", 0, "vat"),
    ("elements", 0, "price_components", 0, "step_size"),
    ("elements", 2, "restrictions"),
    *(
        ("elements", 2, "restrictions", name)
        for name in (
            "start_time",
            "end_time",
            "start_date",
            "end_date",
            "min_kwh",
            "max_current",
            "min_power",
            "max_duration",
            "day_of_week",
            "reservation",
        )
    ),
]


@settings(
    max_examples=int(os.environ.get("TARIFF_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(where=st.sampled_from(FIELD_PATHS), value=JSON_VALUES)
def test_any_json_in_any_field_is_answered_never_500(api, allego, allego_cpo, where, value):
    body = json.loads(example_text("tariff_4_complex.json"))
    target = body
    for key in where[:-1]:
        target = target.setdefault(key, {}) if isinstance(key, str) else target[key]
    target[where[-1]] = value

    response = api.as_token("all-token").put(f"{URL}/DE/ALL/14", body, format="json")

    assert response.status_code in (200, 201), response.content
    assert response.json()["status_code"] in (1000, 2001)
    if response.json()["status_code"] == 2001:
        assert not Tariff.objects.exists()
    else:
        # Whatever was accepted is served back as valid OCPI, then removed for the next example.
        served = api.as_token("all-token").get(f"{URL}/DE/ALL/14").json()["data"]
        assert TariffSerializer(data=served).is_valid(), served
        tariff_delete_from_partner(owner=allego_cpo, tariff_id="14")
