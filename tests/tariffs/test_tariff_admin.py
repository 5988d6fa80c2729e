"""Staff edit our tariffs in the admin (saved and pushed through the service), only view
partners' tariffs, and price a sample session with any tariff."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from apps.partners.models import OutboxMessage
from apps.tariffs.models import PriceComponent, Tariff, TariffElement
from apps.tariffs.services import tariff_upsert_own
from echargo.ocpi.wire import ocpi_loads
from tests.factories.tariffs import TariffData, own_tariff, partner_tariff

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:tariffs_tariff_changelist")
ADD = reverse("admin:tariffs_tariff_add")


def tariff_body(tariff_id: str) -> dict:
    body = TariffData(id=tariff_id)
    body.pop("last_updated")
    return body


def change_url(tariff: Tariff) -> str:
    return reverse("admin:tariffs_tariff_change", args=[tariff.pk])


def price_url(tariff: Tariff) -> str:
    return reverse("admin:tariffs_tariff_price_sample", args=[tariff.pk])


def element_fields(index: int, components=(), element=None, **restrictions) -> dict:
    """POST fields of one element block: components as (type, price, vat, step_size)."""
    prefix = f"elements-{index}-"
    fields = {f"{prefix}order": str(index)}
    if element is not None:
        fields[f"{prefix}id"] = str(element.pk)
        fields[f"{prefix}tariff"] = str(element.tariff_id)
    for slot, (kind, price, vat, step) in enumerate(components, start=1):
        fields.update(
            {
                f"{prefix}c{slot}_type": kind,
                f"{prefix}c{slot}_price": price,
                f"{prefix}c{slot}_vat": vat,
                f"{prefix}c{slot}_step_size": step,
            }
        )
    for name, value in restrictions.items():
        fields[f"{prefix}{name}"] = value
    return fields


def tariff_post(elements: list[dict], initial: int = 0, **fields) -> dict:
    data = {
        "currency": "TRY",
        "type": "",
        "tariff_alt_text": "",
        "tariff_alt_url": "",
        "energy_mix": "",
        "elements-TOTAL_FORMS": str(len(elements)),
        "elements-INITIAL_FORMS": str(initial),
        "elements-MIN_NUM_FORMS": "0",
        "elements-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for element in elements:
        data.update(element)
    return data


def test_changelist_filters_ours_and_partners(admin_client, our_cpo, allego_cpo):
    own_tariff(id="OURS-1")
    partner_tariff(allego_cpo, id="THEIRS-1")

    ours = admin_client.get(CHANGELIST, {"ownership": "own"})
    theirs = admin_client.get(CHANGELIST, {"ownership": "partner"})
    by_currency = admin_client.get(CHANGELIST, {"currency": "TRY", "type__exact": ""})

    assert ours.status_code == theirs.status_code == by_currency.status_code == 200
    assert [t.tariff_id for t in ours.context["cl"].result_list] == ["OURS-1"]
    assert [t.tariff_id for t in theirs.context["cl"].result_list] == ["THEIRS-1"]


def test_staff_create_a_tariff_with_elements_and_it_is_pushed(
    admin_client, our_cpo, bosphorus_takes_tariffs
):
    data = tariff_post(
        [
            element_fields(0, [("FLAT", "5.00", "20", "1"), ("ENERGY", "7.4567", "20", "1")]),
            element_fields(
                1,
                [("ENERGY", "5.10", "20", "1")],
                start_time="00:00",
                end_time="07:00",
                day_of_week=["SATURDAY", "SUNDAY"],
            ),
        ],
        owner=str(our_cpo.pk),
        tariff_id="AC-22",
        type="REGULAR",
        max_price_excl_vat="500",
        tariff_alt_text='[{"language": "tr", "text": "Gece indirimi"}]',
    )

    response = admin_client.post(ADD, data)

    assert response.status_code == 302, response.context and response.context.get("errors")
    tariff = Tariff.objects.get(tariff_id="AC-22")
    document = ocpi_loads(tariff.ocpi_json)
    assert document["type"] == "REGULAR"
    assert document["max_price"] == {"excl_vat": Decimal(500)}
    assert document["tariff_alt_text"] == [{"language": "tr", "text": "Gece indirimi"}]
    assert document["elements"] == [
        {
            "price_components": [
                {"type": "FLAT", "price": Decimal(5), "vat": Decimal(20), "step_size": 1},
                {"type": "ENERGY", "price": Decimal("7.4567"), "vat": Decimal(20), "step_size": 1},
            ]
        },
        {
            "price_components": [
                {"type": "ENERGY", "price": Decimal("5.1"), "vat": Decimal(20), "step_size": 1}
            ],
            "restrictions": {
                "start_time": "00:00",
                "end_time": "07:00",
                "day_of_week": ["SATURDAY", "SUNDAY"],
            },
        },
    ]
    message = OutboxMessage.objects.get(connection=bosphorus_takes_tariffs)
    assert (message.method, message.path) == ("PUT", "TR/ECH/AC-22")
    assert LogEntry.objects.get().object_id == str(tariff.pk)
    assert tariff.history.get().history_user.is_superuser


def test_staff_edit_reorder_and_remove_elements_of_our_tariff(
    admin_client, our_cpo, bosphorus_takes_tariffs
):
    tariff = own_tariff(
        id="DAY",
        elements=[
            {"price_components": [{"type": "FLAT", "price": 1, "step_size": 1}]},
            {"price_components": [{"type": "ENERGY", "price": "0.25", "step_size": 1}]},
            {"price_components": [{"type": "TIME", "price": 2, "step_size": 60}]},
        ],
    )
    flat, energy, time = tariff.elements.all()
    page = admin_client.get(change_url(tariff))
    assert page.status_code == 200
    blocks = page.context["inline_admin_formsets"][0].formset.forms
    assert blocks[1].initial["c1_type"] == "ENERGY"
    assert blocks[1].initial["c1_price"] == Decimal("0.25")

    data = tariff_post(
        [
            element_fields(0, [("FLAT", "1", "", "1")], element=flat) | {"elements-0-order": "2"},
            element_fields(1, [("ENERGY", "0.30", "18", "1")], element=energy),
            element_fields(2, [("TIME", "2", "", "60")], element=time)
            | {"elements-2-DELETE": "on"},
        ],
        initial=3,
        currency="EUR",
    )
    response = admin_client.post(change_url(tariff), data)

    assert response.status_code == 302
    document = ocpi_loads(Tariff.objects.get(pk=tariff.pk).ocpi_json)
    assert document["currency"] == "EUR"
    assert [e["price_components"][0] for e in document["elements"]] == [
        {"type": "ENERGY", "price": Decimal("0.3"), "vat": Decimal(18), "step_size": 1},
        {"type": "FLAT", "price": Decimal(1), "step_size": 1},
    ]
    assert OutboxMessage.objects.filter(status="pending").get().body.count("ENERGY") == 1


@pytest.mark.parametrize(
    ("element", "error"),
    [
        (
            element_fields(0, [("ENERGY", "0.25", "", "1")], reservation="RESERVATION"),
            "only contain FLAT and TIME",
        ),
        (element_fields(0, [("ENERGY", "", "", "1")]), "needs a price"),
        (element_fields(0, [("", "0.25", "", "1")]), "Choose the dimension"),
        (element_fields(0, [("ENERGY", "0.25", "", "1")], start_time="25:00"), "valid"),
        (element_fields(0, []), "price_components"),
        (
            element_fields(0, [("ENERGY", "0.25", "", "1"), ("ENERGY", "0.30", "", "1")]),
            "cannot price it",
        ),
    ],
    ids=[
        "reservation with energy",
        "no price",
        "no dimension",
        "bad time",
        "no component",
        "two energy prices",
    ],
)
def test_invalid_element_is_shown_and_nothing_is_saved(
    admin_client, our_cpo, bosphorus_takes_tariffs, element, error
):
    response = admin_client.post(ADD, tariff_post([element], owner=str(our_cpo.pk), tariff_id="X"))

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Tariff.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_tariff_without_elements_is_refused(admin_client, our_cpo):
    response = admin_client.post(ADD, tariff_post([], owner=str(our_cpo.pk), tariff_id="X"))
    assert response.status_code == 200
    assert "at least one element" in response.content.decode()
    assert not Tariff.objects.exists()


def test_duplicate_id_is_refused_case_insensitively(admin_client, our_cpo):
    own_tariff(id="DAY")
    response = admin_client.post(
        ADD,
        tariff_post(
            [element_fields(0, [("ENERGY", "0.25", "", "1")])],
            owner=str(our_cpo.pk),
            tariff_id="day",
        ),
    )
    assert response.status_code == 200
    assert "already has a tariff with this id" in response.content.decode()
    assert Tariff.objects.count() == 1


def test_partner_tariff_is_shown_read_only(admin_client, allego_cpo):
    tariff = partner_tariff(
        allego_cpo,
        id="THEIRS",
        elements=[
            {
                "price_components": [{"type": "TIME", "price": 2, "step_size": 60}],
                "restrictions": {"max_current": 32},
            }
        ],
    )

    page = admin_client.get(change_url(tariff))

    assert page.status_code == 200
    html = page.content.decode()
    assert "TIME 2.0000 (VAT none, step 60)" in html
    assert "max_current=32.0000" in html
    assert 'name="elements-0-c1_price"' not in html
    assert not page.context["has_change_permission"]
    before = tariff.ocpi_json
    refused = admin_client.post(change_url(tariff), tariff_post([], currency="EUR"))
    assert refused.status_code == 403
    assert Tariff.objects.get(pk=tariff.pk).ocpi_json == before
    delete = admin_client.post(
        reverse("admin:tariffs_tariff_delete", args=[tariff.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    assert Tariff.objects.filter(pk=tariff.pk).exists()


def test_staff_delete_our_tariff_and_the_delete_is_pushed(
    admin_client, our_cpo, bosphorus_takes_tariffs
):
    tariff = own_tariff(id="DAY")

    response = admin_client.post(
        reverse("admin:tariffs_tariff_delete", args=[tariff.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Tariff.objects.exists()
    assert not TariffElement.objects.exists()
    assert not PriceComponent.objects.exists()
    assert OutboxMessage.objects.get(status="pending").method == "DELETE"


def test_bulk_delete_of_our_tariffs_pushes_each_delete(
    admin_client, our_cpo, bosphorus_takes_tariffs
):
    day, night = own_tariff(id="DAY"), own_tariff(id="NIGHT")

    admin_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [day.pk, night.pk], "post": "yes"},
    )

    assert not Tariff.objects.exists()
    deletes = OutboxMessage.objects.filter(method="DELETE", status="pending")
    assert set(deletes.values_list("path", flat=True)) == {"TR/ECH/DAY", "TR/ECH/NIGHT"}


def test_bulk_delete_holding_a_partner_tariff_is_refused_whole(admin_client, our_cpo, allego_cpo):
    ours = own_tariff(id="DAY")
    theirs = partner_tariff(allego_cpo, id="THEIRS")

    response = admin_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [ours.pk, theirs.pk], "post": "yes"},
    )

    assert response.status_code == 403
    assert Tariff.objects.count() == 2


def test_price_sample_shows_totals_and_breakdown(admin_client, our_cpo):
    tariff = own_tariff(
        id="KWH",
        elements=[
            {"price_components": [{"type": "ENERGY", "price": "0.25", "vat": 10, "step_size": 1}]}
        ],
    )

    response = admin_client.get(
        price_url(tariff),
        {
            "start": "2026-03-02T10:00",
            "end": "2026-03-02T12:00",
            "energy_kwh": "20",
            "time_zone": "Europe/Istanbul",
        },
    )

    assert response.status_code == 200
    result = response.context["result"]
    assert (result.total_cost.excl_vat, result.total_cost.incl_vat) == (
        Decimal("5.00"),
        Decimal("5.50"),
    )
    html = response.content.decode()
    assert 'id="price-totals"' in html
    assert 'id="price-breakdown"' in html
    assert "ENERGY" in html
    assert result.describe().splitlines()[0] in html


def test_price_sample_reads_times_as_local_to_the_time_zone_given(admin_client, our_cpo):
    """Energy is cheap until 09:00 local time. 08:00-08:30 typed for Europe/Istanbul is night;
    read as UTC it would be 11:00-11:30 in Istanbul, at the day rate."""
    tariff = own_tariff(
        id="NIGHT",
        elements=[
            {
                "price_components": [{"type": "ENERGY", "price": "0.10", "step_size": 1}],
                "restrictions": {"start_time": "00:00", "end_time": "09:00"},
            },
            {"price_components": [{"type": "ENERGY", "price": "0.30", "step_size": 1}]},
        ],
    )
    query = {"energy_kwh": "10", "time_zone": "Europe/Istanbul"}

    night = admin_client.get(
        price_url(tariff), {**query, "start": "2026-03-02T08:00", "end": "2026-03-02T08:30"}
    )
    day = admin_client.get(
        price_url(tariff), {**query, "start": "2026-03-02T09:00", "end": "2026-03-02T09:30"}
    )

    assert night.context["result"].total_cost.excl_vat == Decimal("1.00")
    assert day.context["result"].total_cost.excl_vat == Decimal("3.00")
    start = night.context["form"].cleaned_data["start"]
    assert start.utcoffset().total_seconds() == 3 * 3600


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"end": "2026-03-02T07:00"}, "ends before it starts"),
        ({"time_zone": "Mars/Olympus"}, "Unknown time zone"),
        ({"charging_end": "2026-03-02T13:00"}, "Charging must end between"),
        ({"energy_kwh": "-1"}, "greater than or equal to 0"),
    ],
)
def test_price_sample_explains_bad_input(admin_client, our_cpo, query, error):
    tariff = own_tariff(id="KWH")
    base = {
        "start": "2026-03-02T10:00",
        "end": "2026-03-02T12:00",
        "energy_kwh": "20",
        "time_zone": "Europe/Istanbul",
    }

    response = admin_client.get(price_url(tariff), {**base, **query})

    assert response.status_code == 200
    assert error in response.content.decode()
    assert response.context["result"] is None


def test_price_sample_page_starts_with_istanbul_and_an_example_session(admin_client, our_cpo):
    tariff = own_tariff(id="KWH")
    response = admin_client.get(price_url(tariff))
    assert response.status_code == 200
    assert response.context["form"]["time_zone"].value() == "Europe/Istanbul"
    assert response.context["result"] is None


def test_price_sample_of_an_unknown_tariff_is_404(admin_client):
    response = admin_client.get(reverse("admin:tariffs_tariff_price_sample", args=[999999]))
    assert response.status_code == 404


def test_history_page_lists_each_change_with_its_reason(admin_client, our_cpo):
    tariff = tariff_upsert_own(data={**tariff_body("DAY")}, reason="Launch").obj
    tariff_upsert_own(data={**tariff_body("DAY"), "currency": "EUR"}, reason="Euro pricing")

    response = admin_client.get(reverse("admin:tariffs_tariff_history", args=[tariff.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Launch" in html
    assert "Euro pricing" in html


def test_change_page_shows_the_published_document_and_the_pricing_link(admin_client, our_cpo):
    tariff = own_tariff(id="DAY")
    html = admin_client.get(change_url(tariff)).content.decode()
    assert price_url(tariff) in html
    assert "&quot;price&quot;: 0.25" in html


def test_add_page_offers_only_our_cpos_and_preselects_the_one_we_host(
    admin_client, our_cpo, allego_cpo
):
    response = admin_client.get(ADD)

    assert response.status_code == 200
    owner = response.context["adminform"].form["owner"]
    assert owner.value() == our_cpo.pk
    assert list(owner.field.queryset) == [our_cpo]
    html = response.content.decode()
    assert 'name="elements-0-c4_step_size"' in html
    assert 'name="elements-0-day_of_week"' in html
