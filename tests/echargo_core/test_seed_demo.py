"""seed_demo gives a staff member a network to explore, the same one however often it runs.

Stations with tariffs in TRY on every EVSE (AC per kWh; DC per kWh plus parking time), our
drivers' tokens, and changes made through the services so that history and audit trail show.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command

from apps.audit.models import AuditEvent
from apps.locations.models import EVSE, Location
from apps.tariffs.models import Tariff
from apps.tokens.models import Token

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    """Every row of every table the demo writes to, history and audit trail included."""
    tables = {}
    for model in apps.get_models():
        if model._meta.app_label in {"partners", "locations", "tariffs", "tokens", "audit"}:
            fields = [
                f.attname
                for f in model._meta.concrete_fields
                if f.attname not in {"history_date", "created_at"}
            ]
            tables[model._meta.label] = sorted(
                map(repr, model.objects.order_by("pk").values_list(*fields))
            )
    return tables


def test_every_evse_of_the_demo_has_a_tariff_in_lira_that_fits_its_power():
    seed()
    tariffs = {t.tariff_id: json.loads(t.ocpi_json) for t in Tariff.objects.all()}
    assert {t["currency"] for t in tariffs.values()} == {"TRY"}
    connectors = [
        connector
        for location in Location.objects.all()
        for evse in json.loads(location.ocpi_json)["evses"]
        for connector in evse["connectors"]
    ]
    assert len(connectors) == 10
    for connector in connectors:
        (tariff_id,) = connector["tariff_ids"]
        components = {
            c["type"] for e in tariffs[tariff_id]["elements"] for c in e["price_components"]
        }
        if connector["power_type"] == "DC":
            assert components == {"ENERGY", "PARKING_TIME"}
        else:
            assert components == {"ENERGY"}


def test_the_demo_has_our_drivers_tokens_one_blocked_with_its_history():
    seed()
    tokens = {t.uid: t for t in Token.objects.filter(owner__is_own=True, owner__role="EMSP")}
    assert set(tokens) == {"TRECH0001", "TRECH0002", "TRECH0003", "TRECH-APP-0004"}
    assert [uid for uid, t in tokens.items() if not t.valid] == ["TRECH0002"]
    reasons = [h.history_change_reason for h in tokens["TRECH0002"].history.order_by("pk")]
    assert reasons == ["Issued by staff", "Demo: card reported lost by the driver"]


def test_the_audit_trail_and_history_show_changes_as_staff_made_them():
    seed()
    dc = Tariff.objects.get(tariff_id="TR-DC-FAST")
    assert [h.history_change_reason for h in dc.history.order_by("pk")] == [
        "Demo data",
        "Demo: DC price raised with the energy costs",
    ]
    verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    assert {"tariff.published", "token.issued", "token.blocked"} <= verbs
    broken = EVSE.objects.get(uid="ANK-KIZILAY-2")
    assert broken.status == "OUTOFORDER"
    assert "Demo: connector damaged, awaiting repair" in {
        h.history_change_reason for h in broken.history.all()
    }


def test_seed_demo_run_twice_leaves_the_same_data():
    seed()
    first = snapshot()
    out = seed()
    assert snapshot() == first
    assert "New: 0 stations in Istanbul and Ankara, 0 tariffs in TRY, 0 driver tokens." in out


def test_the_staff_password_is_printed_once_and_reset_on_demand():
    first = re.search(r"login staff / (\S+)$", seed(), re.M).group(1)
    again = seed()
    assert first not in again
    assert "manage.py seed_demo --reset-password" in again
    reset = re.search(r"login staff / (\S+)$", seed("--reset-password"), re.M).group(1)
    staff = get_user_model().objects.get(username="staff")
    assert reset != first
    assert staff.check_password(reset)
