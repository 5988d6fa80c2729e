"""charger_command_finished: sent once, after commit, from every place a charger command
becomes final (queued for an offline charger, answered, expired); never for an open one or a
rolled-back change."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from apps.chargers.models import ChargerCommand, CommandAction
from apps.chargers.services import (
    charger_command_finish,
    charger_command_queue,
    charger_commands_expire,
)
from apps.chargers.signals import charger_command_finished

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def heard():
    received: list[tuple[int, str]] = []

    def listen(sender, command, **kwargs):
        received.append((command.pk, command.status))

    charger_command_finished.connect(listen, dispatch_uid="test-heard")
    yield received
    charger_command_finished.disconnect(dispatch_uid="test-heard")


def test_a_command_for_an_offline_charger_is_told_once_committed(charger, heard):
    with transaction.atomic():
        command = charger_command_queue(charger=charger, action=CommandAction.RESET_SOFT)
        assert heard == []
    assert heard == [(command.pk, "offline")]


def test_a_finished_command_is_told_once(charger, heard):
    command = ChargerCommand.objects.create(charger=charger, action=CommandAction.RESET_SOFT)
    charger_command_finish(command_id=command.pk, status="accepted", answer="Accepted")
    charger_command_finish(command_id=command.pk, status="rejected", answer="Rejected")
    assert heard == [(command.pk, "accepted")]


def test_an_expired_command_is_told(charger, heard):
    command = ChargerCommand.objects.create(charger=charger, action=CommandAction.RESET_SOFT)
    ChargerCommand.objects.filter(pk=command.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert charger_commands_expire() == 1
    assert heard == [(command.pk, "offline")]


def test_a_rolled_back_finish_is_not_told(charger, heard):
    command = ChargerCommand.objects.create(charger=charger, action=CommandAction.RESET_SOFT)

    def finish_then_fail() -> None:
        with transaction.atomic():
            charger_command_finish(command_id=command.pk, status="accepted")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        finish_then_fail()
    assert heard == []
    command.refresh_from_db()
    assert command.status == "queued"


def test_a_failing_receiver_does_not_stop_the_finish(charger, heard):
    def broken(sender, command, **kwargs):
        raise ValueError("boom")

    charger_command_finished.connect(broken, dispatch_uid="test-broken")
    try:
        command = ChargerCommand.objects.create(charger=charger, action=CommandAction.RESET_SOFT)
        charger_command_finish(command_id=command.pk, status="accepted")
    finally:
        charger_command_finished.disconnect(dispatch_uid="test-broken")
    assert heard == [(command.pk, "accepted")]
