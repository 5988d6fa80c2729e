"""Our tariffs are pushed to every connected eMSP partner through the outbox, in the same
transaction as the change (DESIGN.md: outbound push)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import responses
import time_machine
from rest_framework.exceptions import ValidationError

from apps.audit.models import AuditEvent
from apps.partners.models import OutboxMessage, PartnerConnection
from apps.partners.outbox import outbox_deliver
from apps.tariffs.models import Tariff, TariffElement
from apps.tariffs.services import tariff_delete_own, tariff_upsert_own
from echargo.history import SYSTEM_USERNAME
from echargo.ocpi.wire import ocpi_loads
from tests.factories.partners import PartnerConnectionFactory, PartyFactory
from tests.factories.tariffs import TariffData, own_tariff, partner_tariff
from tests.tariffs.conftest import BOSPHORUS_TARIFFS

pytestmark = pytest.mark.django_db


def data(**overrides):
    body = TariffData(**overrides)
    body.pop("last_updated")
    return body


def messages(**filters):
    return list(OutboxMessage.objects.filter(module="tariffs", **filters).order_by("pk"))


def test_new_tariff_is_queued_as_a_put_to_each_emsp_partner_taking_tariffs(
    our_cpo, bosphorus_takes_tariffs
):
    second = PartnerConnectionFactory(
        name="Anatolia eMSP",
        endpoints=[{"identifier": "tariffs", "role": "RECEIVER", "url": "https://a.example/t"}],
    )
    PartyFactory(country_code="TR", party_id="ANA", role="EMSP", connection=second)

    tariff = own_tariff(id="DAY")

    queued = messages()
    assert {m.connection for m in queued} == {bosphorus_takes_tariffs, second}
    for message in queued:
        assert (message.method, message.path, message.object_key) == (
            "PUT",
            "TR/ECH/DAY",
            "TR/ECH/DAY",
        )
        assert message.status == "pending"
        assert json.loads(message.body, parse_float=Decimal) == ocpi_loads(tariff.ocpi_json)


def test_partners_that_cannot_take_the_push_get_none(our_cpo, bosphorus, allego, hub):
    """bosphorus announces no tariffs Receiver; allego and the hub carry CPOs only."""
    for connection in (allego, hub):
        connection.endpoints = [
            {"identifier": "tariffs", "role": "RECEIVER", "url": "https://x.example/t"}
        ]
        connection.save()
    suspended = PartnerConnectionFactory(
        status=PartnerConnection.Status.SUSPENDED,
        endpoints=[{"identifier": "tariffs", "role": "RECEIVER", "url": "https://s.example/t"}],
    )
    PartyFactory(country_code="TR", party_id="SUS", role="EMSP", connection=suspended)

    own_tariff(id="DAY")

    assert messages() == []


def test_change_is_pushed_and_supersedes_the_undelivered_version(our_cpo, bosphorus_takes_tariffs):
    first = own_tariff(id="DAY")
    second = own_tariff(id="DAY", currency="EUR")

    assert first.pk == second.pk
    old, new = messages()
    assert old.status == "superseded"
    assert new.status == "pending"
    assert json.loads(new.body)["currency"] == "EUR"


def test_saving_the_same_content_again_pushes_nothing_and_keeps_last_updated(
    our_cpo, bosphorus_takes_tariffs
):
    with time_machine.travel(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), tick=False):
        tariff = own_tariff(id="DAY")
    with time_machine.travel(dt.datetime(2026, 3, 2, tzinfo=dt.UTC), tick=False):
        result = tariff_upsert_own(data=data(id="DAY"), owner=our_cpo)

    assert not result.changed
    assert len(messages()) == 1
    tariff.refresh_from_db()
    assert tariff.last_updated == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert tariff.history.count() == 1


def test_last_updated_is_set_by_the_service_in_milliseconds(our_cpo):
    moment = dt.datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=dt.UTC)
    with time_machine.travel(moment, tick=False):
        tariff = tariff_upsert_own(
            data={**data(id="DAY"), "last_updated": "2001-01-01T00:00:00Z"}, owner=our_cpo
        ).obj

    assert tariff.last_updated == moment.replace(microsecond=123000)
    assert ocpi_loads(tariff.ocpi_json)["last_updated"] == "2026-03-01T10:00:00.123Z"


def test_delete_is_queued_as_a_delete_and_removes_every_row(our_cpo, bosphorus_takes_tariffs):
    tariff = own_tariff(id="DAY")

    tariff_delete_own(tariff=tariff)

    put, delete = messages()
    assert put.status == "superseded"
    assert (delete.method, delete.path, delete.body) == ("DELETE", "TR/ECH/DAY", "")
    assert not Tariff.objects.exists()
    assert not TariffElement.objects.exists()
    assert AuditEvent.objects.filter(verb="tariff.deleted", object_key="TR/ECH/DAY").exists()


@responses.activate
def test_outbox_delivers_the_tariff_to_the_partner_receiver_url(our_cpo, bosphorus_takes_tariffs):
    responses.put(
        f"{BOSPHORUS_TARIFFS}/TR/ECH/DAY",
        json={"status_code": 1000, "timestamp": "2026-03-01T00:00:00Z"},
    )
    tariff = own_tariff(
        id="DAY",
        elements=[{"price_components": [{"type": "TIME", "price": "1.90", "step_size": 300}]}],
    )

    assert outbox_deliver(connection_id=bosphorus_takes_tariffs.pk) == 1

    sent = json.loads(responses.calls[0].request.body, parse_float=Decimal)
    assert sent == ocpi_loads(tariff.ocpi_json)
    assert sent["elements"][0]["price_components"][0] == {
        "type": "TIME",
        "price": Decimal("1.9"),
        "step_size": 300,
    }
    assert messages()[0].status == "delivered"


def test_ids_unsafe_in_a_url_path_are_refused_for_our_tariffs(our_cpo):
    with pytest.raises(ValidationError, match="id"):
        tariff_upsert_own(data=data(id="DAY/NIGHT"), owner=our_cpo)
    assert not Tariff.objects.exists()


def test_invalid_tariff_of_ours_is_refused_and_nothing_is_queued(our_cpo, bosphorus_takes_tariffs):
    with pytest.raises(ValidationError, match="price_components"):
        tariff_upsert_own(data=data(elements=[{"price_components": []}]), owner=our_cpo)
    assert not Tariff.objects.exists()
    assert messages() == []


def test_tariff_our_engine_cannot_price_is_refused(our_cpo):
    """Two ENERGY components in one element leave the price undefined (first match per
    dimension), so we do not publish it."""
    twice = [
        {"type": "ENERGY", "price": "0.25", "step_size": 1},
        {"type": "ENERGY", "price": "0.30", "step_size": 1},
    ]
    with pytest.raises(ValidationError, match="price"):
        tariff_upsert_own(data=data(elements=[{"price_components": twice}]), owner=our_cpo)
    assert not Tariff.objects.exists()


def test_owner_must_be_a_cpo_we_host(our_parties, allego_cpo):
    our_emsp = next(p for p in our_parties if p.role == "EMSP")
    for owner in (our_emsp, allego_cpo):
        with pytest.raises(ValidationError, match="not a CPO party we host"):
            tariff_upsert_own(data=data(), owner=owner)


def test_body_naming_another_owner_is_refused(our_cpo):
    with pytest.raises(ValidationError, match="party_id"):
        tariff_upsert_own(data=data(party_id="XXX"), owner=our_cpo)


def test_partner_tariffs_cannot_be_deleted_as_ours(allego_cpo):
    tariff = partner_tariff(allego_cpo, id="THEIRS")
    with pytest.raises(ValidationError):
        tariff_delete_own(tariff=tariff)
    assert Tariff.objects.filter(pk=tariff.pk).exists()


def test_owner_defaults_to_the_one_cpo_we_host(our_cpo):
    tariff = tariff_upsert_own(data=data(id="DAY")).obj
    assert tariff.owner == our_cpo


def test_every_change_is_in_the_history_with_its_reason_and_the_system_user(our_cpo):
    tariff_upsert_own(data=data(id="DAY"), reason="Launch")
    tariff_upsert_own(data=data(id="DAY", currency="EUR"), reason="Euro pricing")

    history = Tariff.history.order_by("history_id")
    assert [(h.history_type, h.currency, h.history_change_reason) for h in history] == [
        ("+", "TRY", "Launch"),
        ("~", "EUR", "Euro pricing"),
    ]
    assert {h.history_user.username for h in history} == {SYSTEM_USERNAME}
    assert AuditEvent.objects.filter(verb="tariff.published").count() == 2


def test_element_rows_are_only_rewritten_when_the_elements_change(our_cpo):
    tariff = own_tariff(id="DAY")
    element_pk = tariff.elements.get().pk

    own_tariff(id="DAY", currency="EUR")
    assert tariff.elements.get().pk == element_pk

    own_tariff(
        id="DAY",
        currency="EUR",
        elements=[{"price_components": [{"type": "FLAT", "price": 1, "step_size": 1}]}],
    )
    assert tariff.elements.get().pk != element_pk
    assert tariff.elements.get().price_components.get().type == "FLAT"
