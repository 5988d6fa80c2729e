"""Schedules declared in code are stored in django-celery-beat without undoing staff pauses."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from echargo.schedules import SCHEDULES

pytestmark = pytest.mark.django_db


def test_setup_is_idempotent_and_keeps_a_paused_job_paused():
    call_command("setup_periodic_tasks")
    assert PeriodicTask.objects.count() == len(SCHEDULES)
    PeriodicTask.objects.filter(name="tokens: pull from partners").update(enabled=False)
    call_command("setup_periodic_tasks")
    assert PeriodicTask.objects.count() == len(SCHEDULES)
    paused = PeriodicTask.objects.get(name="tokens: pull from partners")
    assert paused.enabled is False
    assert json.loads(paused.args) == ["tokens"]
