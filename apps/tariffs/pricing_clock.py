"""Local wall-clock arithmetic for one session, DST aware, in integer microseconds.

Tariff restrictions are local times and dates (mod_tariffs: "in the time zone of the Location").
Instead of converting every instant with zoneinfo, the clock finds the UTC offsets in force
during the session once; the local time of an instant is then `utc + offset`, and the instants a
local time of day occurs at are `local - offset` for each offset segment.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apps.tariffs.pricing_tariff import DAY_US
from apps.tariffs.pricing_types import EPOCH, ONE_US, PricingError

# Real zones change offset at most twice a year (Morocco's Ramadan pause: a few weeks apart), so
# sampling every 12 h and bisecting between samples that differ finds every change.
_SAMPLE_US = 12 * 3_600_000_000
_SECOND_US = 1_000_000
# date(1970, 1, 1).toordinal(); that day was a Thursday (weekday 3).
EPOCH_ORDINAL = 719_163
_EPOCH_WEEKDAY = 3


def zone(name: str) -> ZoneInfo:
    """Return the IANA time zone `name` or raise PricingError."""
    if not isinstance(name, str) or not name:
        raise PricingError(f"time_zone must be an IANA time zone name, got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PricingError(f"unknown time zone {name!r}") from None


def _offset_us(tz: ZoneInfo, us: int) -> int:
    return (EPOCH + timedelta(microseconds=us)).astimezone(tz).utcoffset() // ONE_US


class LocalClock:
    """UTC offsets of one time zone over [start_us, end_us]."""

    __slots__ = ("_offsets", "_starts", "end_us", "start_us")

    def __init__(self, tz: ZoneInfo, start_us: int, end_us: int) -> None:
        self.start_us = start_us
        self.end_us = end_us
        starts = [start_us]
        offsets = [_offset_us(tz, start_us)]
        previous = start_us
        while previous < end_us:
            sample = min(previous + _SAMPLE_US, end_us)
            offset = _offset_us(tz, sample)
            if offset != offsets[-1]:
                starts.append(_transition_us(tz, previous, sample, offsets[-1]))
                offsets.append(offset)
            previous = sample
        self._starts = starts
        self._offsets = offsets

    def local_us(self, us: int) -> int:
        """Return the local wall-clock time of UTC instant `us`, as µs since 1970-01-01 local."""
        if len(self._starts) == 1:
            return us + self._offsets[0]
        return us + self._offsets[bisect_right(self._starts, us) - 1 if us >= self.start_us else 0]

    def instants_of(self, times_of_day_us: tuple[int, ...]) -> list[int]:
        """Return the sorted UTC instants inside (start, end) where the local clock shows one of
        the given times of day, plus the offset transitions (where the clock jumps over or back
        across such a time, the restriction state can change without the time being shown)."""
        found = set(self._starts[1:])
        bounds = [*self._starts[1:], self.end_us]
        for segment_start, segment_end, offset in zip(
            self._starts, bounds, self._offsets, strict=True
        ):
            first_day = (segment_start + offset) // DAY_US
            last_day = (segment_end + offset) // DAY_US
            for day in range(first_day, last_day + 1):
                for time_of_day in times_of_day_us:
                    instant = day * DAY_US + time_of_day - offset
                    if segment_start <= instant < segment_end:
                        found.add(instant)
        return sorted(us for us in found if self.start_us < us < self.end_us)


def split_local(local_us: int) -> tuple[int, int, int]:
    """Return (time of day µs, date ordinal, weekday Monday=0) of a local wall-clock instant."""
    day, time_of_day = divmod(local_us, DAY_US)
    return time_of_day, day + EPOCH_ORDINAL, (day + _EPOCH_WEEKDAY) % 7


def _transition_us(tz: ZoneInfo, low: int, high: int, low_offset: int) -> int:
    """Return the first µs in (low, high] whose offset differs from `low_offset`."""
    # Offsets change on whole seconds, so bisect over seconds (about 16 steps for 12 h).
    low_s, high_s = low // _SECOND_US, -(-high // _SECOND_US)
    while high_s - low_s > 1:
        middle = (low_s + high_s) // 2
        if _offset_us(tz, middle * _SECOND_US) == low_offset:
            low_s = middle
        else:
            high_s = middle
    return max(high_s * _SECOND_US, low + 1)
