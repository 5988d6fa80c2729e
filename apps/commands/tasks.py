"""Celery entry points of the commands app (each calls one service)."""

from __future__ import annotations

from celery import shared_task

from . import cpo, services


@shared_task(acks_late=True)
def commands_sweep_task() -> dict[str, int]:
    """Every command ends: ours past their timeout, partners' whose result was not queued."""
    return {
        "expired": services.commands_expire(),
        "settled": cpo.received_commands_sweep(),
    }
