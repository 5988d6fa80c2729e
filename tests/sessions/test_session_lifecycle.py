"""PENDING -> ACTIVE on the first energy, or INVALID when it never starts (the pending timeout),
told to the driver's eMSP like every other change (a foreign, non-Django eMSP here)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from apps.partners import token_vault
from apps.partners.outbox import outbox_deliver
from apps.sessions.models import Session
from apps.sessions.services import (
    CdrTokenInfo,
    MeterReading,
    session_meter_values,
    session_pending_expire_from_sweep,
    session_start_from_charger,
)
from apps.sessions.tasks import sessions_pending_expire_task
from tests.factories.locations import EVSEData, own_location
from tests.factories.partners import PartnerConnectionFactory, PartyFactory
from tests.foreign_partner import ForeignPartnerServer

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
DRIVER = CdrTokenInfo(
    country_code="DE", party_id="FOR", uid="FOR-0001", type="RFID", contract_id="DE-FOR-C0001"
)


@pytest.fixture
def foreign_partner():
    with ForeignPartnerServer() as partner:
        yield partner


@pytest.fixture
def foreign(foreign_partner, our_parties):
    connection = PartnerConnectionFactory(
        name="Foreign Roaming",
        versions_url=f"{foreign_partner.url}/ocpi/versions",
        endpoints=foreign_partner.endpoints("sessions", role="RECEIVER"),
        outgoing_token_encrypted=token_vault.encrypt("token-for-foreign"),
    )
    PartyFactory(country_code="DE", party_id="FOR", role="EMSP", connection=connection)
    return connection


@pytest.fixture
def pending(our_parties):
    cpo = next(p for p in our_parties if p.role == "CPO")
    station = own_location(cpo, id="IST-1", evses=[EVSEData(uid="E1")])
    evse = station.evses.get()
    return session_start_from_charger(
        owner=cpo,
        location=station,
        evse=evse,
        connector=evse.connectors.get(),
        started_at=T0,
        meter_start_wh=Decimal(1000),
        cdr_token=DRIVER,
        pending=True,
    )


def _held(partner, session):
    return partner.held["sessions"][f"TR/ECH/{session.session_id}".upper()]


def test_a_pending_session_becomes_active_when_energy_flows(foreign, foreign_partner, pending):
    outbox_deliver(connection_id=foreign.pk)
    assert _held(foreign_partner, pending)["status"] == "PENDING"
    session_meter_values(
        session=pending, readings=[MeterReading(T0 + dt.timedelta(minutes=5), Decimal(1500))]
    )
    outbox_deliver(connection_id=foreign.pk)
    pending.refresh_from_db()
    assert pending.status == "ACTIVE"
    assert _held(foreign_partner, pending)["status"] == "ACTIVE"
    # Later sweeps leave it alone however old it is.
    assert session_pending_expire_from_sweep(now=T0 + dt.timedelta(days=1)) == 0


def test_a_pending_session_that_never_starts_ends_invalid(
    foreign, foreign_partner, pending, settings
):
    settings.SESSIONS_PENDING_TIMEOUT_SECONDS = 60
    early = pending.last_updated + dt.timedelta(seconds=30)
    assert session_pending_expire_from_sweep(now=early) == 0
    late = pending.last_updated + dt.timedelta(seconds=61)
    assert session_pending_expire_from_sweep(now=late) == 1
    assert session_pending_expire_from_sweep(now=late) == 0

    pending.refresh_from_db()
    assert pending.status == "INVALID"
    assert pending.end_date_time == late
    assert pending.needs_review
    assert pending.history.first().history_change_reason == "Pending timeout: never started"
    outbox_deliver(connection_id=foreign.pk)
    held = _held(foreign_partner, pending)
    assert held["status"] == "INVALID"
    assert held["end_date_time"] is not None
    # A reading after the end changes nothing.
    session_meter_values(
        session=pending, readings=[MeterReading(late + dt.timedelta(minutes=1), Decimal(2000))]
    )
    assert Session.objects.get(pk=pending.pk).status == "INVALID"


def test_the_sweep_runs_as_a_scheduled_task(pending, settings):
    settings.SESSIONS_PENDING_TIMEOUT_SECONDS = 0
    assert sessions_pending_expire_task() == 1
    call_command("setup_periodic_tasks")
    task = PeriodicTask.objects.get(name="sessions: end pending sessions that never started")
    assert task.task == "apps.sessions.tasks.sessions_pending_expire_task"
    assert PeriodicTask.objects.filter(name="sessions: pull from partners").exists()
