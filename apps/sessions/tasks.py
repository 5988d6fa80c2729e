"""Celery entry points of the sessions app (each calls one service)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def sessions_pending_expire_task() -> int:
    """Our PENDING sessions that never started end INVALID (told to their eMSP)."""
    return services.session_pending_expire_from_sweep()
