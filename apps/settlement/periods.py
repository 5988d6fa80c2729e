"""Settlement periods: months, named as staff write them (2026-11)."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone

_MONTH = re.compile(r"([12][0-9]{3})-(0[1-9]|1[0-2])")


def period_parse(text: str) -> dt.date:
    """'2026-11' -> 2026-11-01; ValueError for anything else."""
    match = _MONTH.fullmatch(text.strip())
    if not match:
        raise ValueError(f"a period is a month written YYYY-MM, not {text!r}")
    return dt.date(int(match[1]), int(match[2]), 1)


def period_previous(now: dt.datetime | None = None) -> dt.date:
    """The month before the current one (UTC): what the monthly job settles."""
    today = (now or timezone.now()).astimezone(dt.UTC).date()
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
