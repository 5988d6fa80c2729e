"""Waiting in async tests for what the central system writes from its own threads.

On SQLite (the zero-setup run) a read that meets a write in progress fails with "database table
is locked" instead of waiting, so a failed read counts as "not yet"; and polls are spaced so
the server's writes are seldom met at all."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import OperationalError


async def eventually(read: Callable[[], Any], seconds: float = 15) -> Any:
    """The first truthy value `read()` (sync ORM code) gives within `seconds`."""
    for _ in range(int(seconds * 10)):
        try:
            value = await sync_to_async(read)()
        except OperationalError:
            value = None
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("condition never held")
