"""The hand-written SQL helpers give what the ORM would have written and read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from apps.audit.log_insert import append_row
from apps.partners.models import PartnerConnection
from apps.tokens.models import AuthorizationDecision
from echargo.db.sql_rows import RowReader, instances_from_row

pytestmark = pytest.mark.django_db


def test_append_row_converts_like_the_orm_and_fills_defaults():
    partner = PartnerConnection.objects.create(name="Row Partner")
    at = timezone.now()
    append_row(
        AuthorizationDecision,
        created_at=at,
        side="emsp",
        uid="CARD1",
        type="RFID",
        connection_id=partner.pk,
        evse_uids=["E1", "E2"],
        allowed="ALLOWED",
        source="local",
        latency_ms=1.5,
    )
    row = AuthorizationDecision.objects.get()
    assert row.created_at == at
    assert row.evse_uids == ["E1", "E2"]  # JSON, not a string
    assert row.connection == partner
    assert (row.location_id, row.authorization_reference, row.token) == ("", "", None)


def test_append_row_refuses_an_unknown_field():
    with pytest.raises(TypeError, match="colour"):
        append_row(AuthorizationDecision, created_at=timezone.now(), colour="red")


def test_row_reader_reads_like_the_orm_with_the_rest_deferred():
    created = PartnerConnection.objects.create(name="Row Partner", endpoints=[{"x": 1}])
    reader = RowReader(
        PartnerConnection,
        [
            f
            for f in PartnerConnection._meta.concrete_fields
            if f.attname in ("id", "name", "endpoints", "created_at")
        ],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {reader.select_list('c')} FROM partners_partnerconnection c WHERE id = %s",  # noqa: S608
            [created.pk],
        )
        instance = reader.instance(cursor.fetchone())
    assert instance.name == "Row Partner"
    assert instance.endpoints == [{"x": 1}]
    assert isinstance(instance.created_at, dt.datetime)
    assert instance.created_at.tzinfo is not None
    assert "status" in instance.get_deferred_fields()
    assert instance.status == created.status  # loaded on first access


def test_instances_from_row_splits_a_join_and_checks_the_width():
    partner = PartnerConnection.objects.create(name="Join Partner")
    decision = AuthorizationDecision.objects.create(
        side="emsp",
        uid="CARD9",
        type="RFID",
        connection=partner,
        allowed="ALLOWED",
        source="local",
        latency_ms=1.0,
    )
    readers = (RowReader(AuthorizationDecision), RowReader(PartnerConnection))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {readers[0].select_list('d')}, {readers[1].select_list('c')}"  # noqa: S608
            " FROM tokens_authorizationdecision d"
            " JOIN partners_partnerconnection c ON c.id = d.connection_id"
        )
        row = cursor.fetchone()
    read_decision, read_partner = instances_from_row(readers, row)
    assert (read_decision.pk, read_decision.uid) == (decision.pk, "CARD9")
    assert (read_partner.pk, read_partner.name) == (partner.pk, "Join Partner")
    assert read_decision.get_deferred_fields() == set()
    with pytest.raises(ValueError, match="columns read"):
        instances_from_row(readers, (*row, "extra"))
    with pytest.raises(ValueError, match="fields but"):
        readers[1].instance(row[:3])
