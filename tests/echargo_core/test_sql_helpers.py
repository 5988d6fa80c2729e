"""The hand-written SQL helpers give what the ORM would have written and read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from apps.partners.models import PartnerConnection
from apps.tokens.models import AuthorizationDecision
from echargo.append_log import append_row
from echargo.sql_rows import instance_from_row, select_list

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


def test_instance_from_row_reads_like_the_orm_with_the_rest_deferred():
    created = PartnerConnection.objects.create(name="Row Partner", endpoints=[{"x": 1}])
    fields = [
        f
        for f in PartnerConnection._meta.concrete_fields
        if f.attname in ("id", "name", "endpoints", "created_at")
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {select_list('c', fields)} FROM partners_partnerconnection c WHERE id = %s",  # noqa: S608
            [created.pk],
        )
        instance = instance_from_row(PartnerConnection, fields, cursor.fetchone())
    assert instance.name == "Row Partner"
    assert instance.endpoints == [{"x": 1}]
    assert isinstance(instance.created_at, dt.datetime)
    assert instance.created_at.tzinfo is not None
    assert "status" in instance.get_deferred_fields()
    assert instance.status == created.status  # loaded on first access
