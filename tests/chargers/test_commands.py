"""Staff commands reach the charger through the server holding its connection, and every one
ends in a final state: answered, refused, unanswered, or the charger offline."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from apps.chargers.models import ChargerCommand, CommandAction
from apps.chargers.services import charger_command_queue
from apps.chargers.simulator import connected
from tests.factories.chargers import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


async def final(command: ChargerCommand, seconds: float = 10) -> ChargerCommand:
    for _ in range(int(seconds * 20)):
        await command.arefresh_from_db()
        if command.is_final:
            return command
        await asyncio.sleep(0.05)
    raise AssertionError(f"command {command.pk} still {command.status}")


def queue(charger, action, **kwargs):
    return sync_to_async(charger_command_queue)(
        charger=charger, action=action, requested_by="staff:ayse", **kwargs
    )


async def connected_to(central_system, charger):
    """Wait until the server recorded the connection (commands are routed by it)."""
    for _ in range(100):
        await charger.arefresh_from_db()
        if charger.connected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never connected")


def test_reset_and_unlock_reach_the_charger_and_end_accepted(central_system, charger):
    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot()
            await connected_to(central_system, charger)
            reset = await final(await queue(charger, CommandAction.RESET_HARD))
            unlock = await final(
                await queue(charger, CommandAction.UNLOCK_CONNECTOR, connector_number=1)
            )
            return cp.received, reset, unlock

    received, reset, unlock = asyncio.run(scenario())
    assert received == [("Reset", {"type": "Hard"}), ("UnlockConnector", {"connector_id": 1})]
    assert (reset.status, reset.answer) == ("accepted", "Accepted")
    assert (unlock.status, unlock.answer) == ("accepted", "Unlocked")
    assert reset.finished_at is not None


def test_a_refused_or_failed_answer_is_final_too(central_system, charger):
    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            cp.answers = {"Reset": "Rejected", "UnlockConnector": "UnlockFailed"}
            await cp.boot()
            await connected_to(central_system, charger)
            reset = await final(await queue(charger, CommandAction.RESET_SOFT))
            unlock = await final(
                await queue(charger, CommandAction.UNLOCK_CONNECTOR, connector_number=1)
            )
            return reset, unlock

    reset, unlock = asyncio.run(scenario())
    assert (reset.status, reset.answer) == ("rejected", "Rejected")
    assert (unlock.status, unlock.answer) == ("failed", "UnlockFailed")


def test_a_command_to_an_offline_charger_is_final_at_once(transactional_db, charger):
    command = charger_command_queue(charger=charger, action=CommandAction.RESET_SOFT)
    assert command.status == "offline"
    assert command.finished_at is not None


def test_a_charger_that_never_answers_ends_in_timeout(central_system, charger, settings):
    settings.OCPP_CALL_TIMEOUT = 0.5

    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot()
            await connected_to(central_system, charger)
            cp._reader.cancel()  # the charger hangs: it reads nothing more
            await asyncio.sleep(0)
            return await final(await queue(charger, CommandAction.RESET_SOFT))

    command = asyncio.run(scenario())
    assert command.status == "timeout"


def test_a_queued_command_whose_charger_left_ends_offline(central_system, charger, settings):
    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot()
            await connected_to(central_system, charger)
        for _ in range(100):
            await charger.arefresh_from_db()
            if not charger.connected:
                break
            await asyncio.sleep(0.05)

    asyncio.run(scenario())
    stale = ChargerCommand.objects.create(charger=charger, action=CommandAction.RESET_SOFT)
    ChargerCommand.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=5)
    )
    command = asyncio.run(final(stale, seconds=10))
    assert command.status == "offline"


def test_remote_start_and_stop_run_a_session(central_system, charger, driver_token):
    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot()
            await connected_to(central_system, charger)
            start = await final(
                await queue(charger, CommandAction.REMOTE_START, id_tag="04OURDRIVER01")
            )
            for _ in range(100):
                if cp.transactions:
                    break
                await asyncio.sleep(0.05)
            tx = next(iter(cp.transactions))
            stop = await final(await queue(charger, CommandAction.REMOTE_STOP, transaction_id=tx))
            for _ in range(100):
                if not cp.transactions:
                    break
                await asyncio.sleep(0.05)
            return start, stop

    start, stop = asyncio.run(scenario())
    assert start.status == "accepted"
    assert stop.status == "accepted"
    from apps.sessions.models import Session

    session = Session.objects.get()
    assert session.status == "COMPLETED"
    assert session.stop_reason == "Remote"


@pytest.mark.parametrize(
    ("action", "kwargs", "sent"),
    [
        (
            CommandAction.CHANGE_AVAILABILITY,
            {"connector_number": 1, "availability": "Inoperative"},
            ("ChangeAvailability", {"connector_id": 1, "type": "Inoperative"}),
        ),
        (
            CommandAction.CANCEL_RESERVATION,
            {"reservation_id": 7},
            ("CancelReservation", {"reservation_id": 7}),
        ),
    ],
)
def test_other_commands_reach_the_charger(central_system, charger, action, kwargs, sent):
    async def scenario():
        async with connected(central_system.url, charger.charge_point_id, PASSWORD) as cp:
            await cp.boot()
            await connected_to(central_system, charger)
            command = await final(await queue(charger, action, **kwargs))
            return cp.received, command

    received, command = asyncio.run(scenario())
    assert received == [sent]
    assert command.status == "accepted"


def test_reserve_now_needs_its_arguments(transactional_db, charger):
    from rest_framework.exceptions import ValidationError

    with pytest.raises(ValidationError):
        charger_command_queue(charger=charger, action=CommandAction.RESERVE_NOW, id_tag="X")
