"""Local wall-clock arithmetic, DST aware, in integer microseconds.

Tariff restrictions are local times and dates (mod_tariffs: "in the time zone of the Location").
Instead of converting every instant with zoneinfo, a `Calendar` finds the UTC offsets in force
over some whole UTC days once; the local time of an instant is then `utc + offset`, and the
instants a local time of day occurs at are `local - offset` for each offset in force.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .tariff import DAY_US
from .types import ONE_US, PricingError

_SECOND_US = 1_000_000
# date(1970, 1, 1).toordinal(); that day was a Thursday (weekday 3).
EPOCH_ORDINAL = 719_163
EPOCH_WEEKDAY = 3
# Calendars are cached: a batch of CDRs shares a few days, and the zoneinfo calls are the slowest
# part of a pricing. Bounded by clearing, as a calendar is cheap to rebuild.
_CACHE_LIMIT = 10_000
_cache: dict[tuple[ZoneInfo, int, int, tuple[int, ...]], Calendar] = {}
_zones: dict[str, ZoneInfo] = {}


def zone(name: str) -> ZoneInfo:
    """Return the IANA time zone `name` or raise PricingError."""
    found = _zones.get(name)
    if found is not None:
        return found
    if not isinstance(name, str) or not name:
        raise PricingError(f"time_zone must be an IANA time zone name, got {name!r}")
    try:
        found = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PricingError(f"unknown time zone {name!r}") from None
    # ZoneInfo caches instances too, but behind a slower lookup; there are only ~600 names.
    _zones[name] = found
    return found


def calendar(
    tz: ZoneInfo, start_us: int, end_us: int, times_of_day_us: tuple[int, ...]
) -> Calendar:
    """Return the (cached) calendar of the UTC days from `start_us` to `end_us`."""
    key = (tz, start_us // DAY_US, end_us // DAY_US, times_of_day_us)
    found = _cache.get(key)
    if found is None:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        found = _cache[key] = Calendar(tz, key[1], key[2], times_of_day_us)
    return found


class Calendar:
    """The UTC offsets of a time zone over whole UTC days, the instants on those days where the
    local clock shows given times of day, and the local state between two such instants."""

    __slots__ = ("_offsets", "_starts", "cuts", "single_offset", "states")

    def __init__(
        self, tz: ZoneInfo, first_day: int, last_day: int, times_of_day_us: tuple[int, ...]
    ) -> None:
        starts, offsets = [first_day * DAY_US], [_offset_us(tz, first_day * DAY_US)]
        for day in range(first_day, last_day + 1):
            # Real zones change offset at most once a day (at most twice a year, or a few weeks
            # apart around Morocco's Ramadan pause), so one check per day finds every change.
            after = _offset_us(tz, (day + 1) * DAY_US)
            if after != offsets[-1]:
                starts.append(_transition_us(tz, day * DAY_US, (day + 1) * DAY_US, offsets[-1]))
                offsets.append(after)
        self._starts = starts
        self._offsets = offsets
        # The common case (no DST change): local time is one addition away.
        self.single_offset = offsets[0] if len(offsets) == 1 else None

        # Where a local time of day occurs, plus the offset transitions themselves: where the
        # clock jumps over or back across such a time, the restriction state changes there.
        cuts = set(starts[1:])
        ends = [*starts[1:], (last_day + 1) * DAY_US]
        for segment_start, segment_end, offset in zip(starts, ends, offsets, strict=True):
            for day in range(
                (segment_start + offset) // DAY_US, (segment_end + offset) // DAY_US + 1
            ):
                for time_of_day in times_of_day_us:
                    instant = day * DAY_US + time_of_day - offset
                    if segment_start <= instant < segment_end:
                        cuts.add(instant)
        self.cuts = sorted(cuts)
        # Between two cuts the local clock crosses none of the times of day, nor midnight if
        # it is one of them: (position of the local time among the times of day, weekday, date
        # ordinal) is the same all along, so it is kept per stretch, i.e. per
        # bisect_right(self.cuts, instant).
        self.states = [
            self.local_state(instant, times_of_day_us)
            for instant in (first_day * DAY_US, *self.cuts)
        ]

    def local_us(self, us: int) -> int:
        """Return the local wall-clock time of UTC instant `us`, as µs since 1970-01-01 local."""
        if self.single_offset is not None:
            return us + self.single_offset
        return us + self._offsets[max(bisect_right(self._starts, us) - 1, 0)]

    def local_state(self, us: int, times_of_day_us: tuple[int, ...]) -> tuple[int, int, int]:
        """Return (position of the local time among `times_of_day_us`, weekday Monday=0, date
        ordinal) at UTC instant `us`."""
        day, time_of_day = divmod(self.local_us(us), DAY_US)
        return (
            bisect_right(times_of_day_us, time_of_day),
            (day + EPOCH_WEEKDAY) % 7,
            day + EPOCH_ORDINAL,
        )

    def cuts_between(self, start_us: int, end_us: int) -> list[int]:
        """Return a new sorted list of the cut instants strictly between the two instants."""
        return self.cuts[bisect_right(self.cuts, start_us) : bisect_left(self.cuts, end_us)]


def _offset_us(tz: ZoneInfo, us: int) -> int:
    # Offsets change on whole seconds, so the offset at the enclosing second is the one at `us`.
    moment = datetime.fromtimestamp(us // _SECOND_US, tz)
    return tz.utcoffset(moment) // ONE_US


def _transition_us(tz: ZoneInfo, low: int, high: int, low_offset: int) -> int:
    """Return the first whole second in (low, high] whose offset differs from `low_offset`."""
    low_s, high_s = low // _SECOND_US, high // _SECOND_US
    while high_s - low_s > 1:
        middle = (low_s + high_s) // 2
        if _offset_us(tz, middle * _SECOND_US) == low_offset:
            low_s = middle
        else:
            high_s = middle
    return high_s * _SECOND_US
