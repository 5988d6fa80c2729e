"""The pricing loop: a session's periods cut where restrictions switch, runs of pieces priced
by the components the tariff selects for their restriction state (rules 1-3 of the package's
docstring). totals.py turns the priced lines into CDR totals."""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    getcontext,
    localcontext,
)
from functools import reduce
from operator import itemgetter, or_
from typing import Any
from zoneinfo import ZoneInfo

from .clock import EPOCH_ORDINAL, EPOCH_WEEKDAY, calendar, zone
from .compile import compile_tariff
from .tariff import (
    DAY_US,
    EXPIRED_TABLE,
    REGULAR_TABLE,
    RESERVATION_TABLE,
    CompiledTariff,
    Component,
    PeriodState,
    Selection,
)
from .totals import (
    ENERGY,
    FIXED,
    PARKING,
    RESERVATION_FEE,
    RESERVATION_TIME,
    SHAPE,
    TIME,
    US_PER_HOUR,
    apply_step_sizes,
    pricing_result,
)
from .types import (
    EPOCH,
    SHAPE_RESERVATION,
    SHAPE_SESSION,
    ChargingPeriodInput,
    PricingError,
    PricingResult,
    instant_us,
    to_decimal,
)

# Fixed arithmetic regardless of what the caller did to the thread's decimal context.
_DECIMAL = Context(
    prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
_ZERO = Decimal(0)
_ONE = Decimal(1)
_NEVER = 1 << 80  # µs; a sentinel instant after any session
_FRACTION = itemgetter(0)
_SHAPE_OF = itemgetter(SHAPE)


def price_periods(
    *,
    tariff: CompiledTariff | Mapping[str, Any],
    periods: Sequence[ChargingPeriodInput | Mapping[str, Any]],
    end_date_time: datetime,
    time_zone: str,
) -> PricingResult:
    """Price OCPI ChargingPeriods (the last one ends at `end_date_time`) with `tariff`."""
    compiled = tariff if isinstance(tariff, CompiledTariff) else compile_tariff(tariff)
    tz = zone(time_zone)
    views, shapes, end_us, end_dt = _normalise(periods, end_date_time)
    pricing = _Pricing(compiled, views, shapes, end_us, end_dt)
    context = getcontext()
    if (
        context.prec == _DECIMAL.prec
        and context.rounding == ROUND_HALF_EVEN
        and not (context.traps[Inexact] or context.traps[Rounded])
    ):
        # The thread's context computes exactly like ours (Python's default one does):
        # entering a local context costs a few percent of a pricing.
        return pricing.run(tz, time_zone)
    with localcontext(_DECIMAL):
        return pricing.run(tz, time_zone)


def price_session(
    *,
    tariff: CompiledTariff | Mapping[str, Any],
    start_date_time: datetime,
    end_date_time: datetime,
    energy_kwh: Decimal | int | float,
    charging_end_date_time: datetime | None = None,
    max_power_kw: Decimal | int | float | None = None,
    time_zone: str,
) -> PricingResult:
    """Price a simple session: charging from start to charging end (default end), then parking."""
    charging_end = end_date_time if charging_end_date_time is None else charging_end_date_time
    start_us, charging_end_us, end_us = (
        _instant(start_date_time, "start_date_time"),
        _instant(charging_end, "charging_end_date_time"),
        _instant(end_date_time, "end_date_time"),
    )
    if not start_us <= charging_end_us <= end_us:
        raise PricingError("expected start_date_time <= charging_end_date_time <= end_date_time")
    with localcontext(_DECIMAL):
        charging = {
            "ENERGY": _not_negative(energy_kwh, "energy_kwh"),
            "TIME": (charging_end_us - start_us) / US_PER_HOUR,
        }
        if max_power_kw is not None:
            charging["MAX_POWER"] = _not_negative(max_power_kw, "max_power_kw")
        periods = [ChargingPeriodInput(start_date_time=start_date_time, dimensions=charging)]
        if end_us > charging_end_us:
            parked = (end_us - charging_end_us) / US_PER_HOUR
            periods.append(
                ChargingPeriodInput(
                    start_date_time=charging_end, dimensions={"PARKING_TIME": parked}
                )
            )
    return price_periods(
        tariff=tariff, periods=periods, end_date_time=end_date_time, time_zone=time_zone
    )


def _not_negative(value: Any, where: str) -> Decimal:
    number = to_decimal(value, where)
    if number < 0:
        raise PricingError(f"{where} must not be negative, got {value!r}")
    return number


def _instant(moment: Any, where: str) -> int:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise PricingError(f"{where} must be a timezone-aware datetime, got {moment!r}")
    return instant_us(moment)


def _normalise(
    periods: Sequence[ChargingPeriodInput | Mapping[str, Any]], end_date_time: datetime
) -> tuple[list[tuple[Any, ...]], int, int, datetime]:
    """Return the periods' engine views, their SHAPE_* union and the session end."""
    end_us = _instant(end_date_time, "end_date_time")
    if not isinstance(periods, (list, tuple)) or not periods:
        raise PricingError("periods: expected a non-empty list of charging periods")
    views = [
        (p if isinstance(p, ChargingPeriodInput) else ChargingPeriodInput.from_ocpi(p)).engine_view
        for p in periods
    ]
    # The pricing loop checks that each period ends (where the next starts) after its start.
    shapes = reduce(or_, map(_SHAPE_OF, views))
    end_dt = end_date_time if end_date_time.tzinfo is UTC else end_date_time.astimezone(UTC)
    return views, shapes, end_us, end_dt


class _Pricing:
    """One pricing run: cut the periods into pieces, price runs of pieces, apply step_size.

    Consecutive pieces with the same shape and the same restriction state form a run, priced by
    the same components; volumes are summed per run and each run extends or adds breakdown lines.
    Lines are lists [key, component, first period, last period, start, end, volume, step
    surplus or None] so that extending them and step_size can update them in place.
    """

    __slots__ = (
        "by_key",
        "days",
        "end_dt",
        "end_us",
        "keyed_instantaneous",
        "lines",
        "local",
        "regular_origin",
        "reservation_origin",
        "reservation_table",
        "shapes",
        "state",
        "tariff",
        "total_energy",
        "total_parking_time",
        "views",
    )

    def __init__(
        self,
        tariff: CompiledTariff,
        views: list[tuple[Any, ...]],
        shapes: int,
        end_us: int,
        end_dt: datetime,
    ) -> None:
        self.tariff = tariff
        self.views = views
        self.shapes = shapes  # union of the periods' SHAPE_* bits
        self.end_us = end_us
        self.end_dt = end_dt
        self.lines: list[list[Any]] = []
        self.by_key: tuple[list[list[Any]], ...] = ([], [], [], [], [], [])
        self.total_energy = self.total_parking_time = _ZERO
        # Set by run(): the restriction context its runs are selected in (see _select).
        self.days: Any = None
        self.local: Callable[[int], int] | None = None
        self.regular_origin: Any = None
        self.reservation_origin: Any = None
        self.reservation_table = REGULAR_TABLE
        self.keyed_instantaneous = tariff.restricts_current or tariff.restricts_power
        self.state = PeriodState()

    def run(self, tz: ZoneInfo, time_zone: str) -> PricingResult:
        views = self.views
        regular_origin, reservation_origin = self._origins()
        cuts = self._cuts(tz, regular_origin, reservation_origin)
        kwh_thresholds = self.tariff.kwh_thresholds
        # Energy and current/power are part of the run key only if the tariff restricts them.
        keyed_energy = bool(kwh_thresholds)
        keyed_instantaneous = self.keyed_instantaneous
        simple_key = not (keyed_energy or keyed_instantaneous)
        price_run, evaluate = self._price_run, self._evaluate
        days, reservation_table = self.days, self.reservation_table
        tariff = self.tariff
        durations, dates, known = tariff.duration_thresholds_us, tariff.dates, tariff.selections
        weekdays = tariff.restricts_weekday

        run_key: Any = None
        selections: tuple[Selection | None, Selection | None] = (None, None)
        first = last = segment = 0
        run_start = run_end = self.end_dt
        run_energy = run_time = run_parking = run_reservation = None
        energy_so_far = _ZERO
        ends = views[1:]
        ends.append((self.end_us, self.end_dt))
        for index, (view, following) in enumerate(zip(views, ends, strict=True)):
            start, end, end_dt = view[0], following[0], following[1]
            if end < start:
                raise PricingError(
                    f"periods[{index}] ends before it starts: periods must be in chronological "
                    f"order and end_date_time must not precede the last one's start"
                )
            while cuts[segment] <= start:
                segment += 1
            # Pieces are (view-like tuple, end, session energy at its start, segment); a
            # period is one piece unless a restriction switches inside it.
            if cuts[segment] < end or (
                keyed_energy and view[2] and _crosses(kwh_thresholds, energy_so_far, view[2])
            ):
                pieces = self._cut(view, end, end_dt, energy_so_far, cuts, segment)
            else:
                if simple_key and segment << 5 | view[SHAPE] == run_key:
                    # The period goes on with the run (the common case, inlined from below).
                    last, run_end = index, end_dt
                    if view[2] is not None:
                        run_energy += view[2]
                    if view[3] is not None:
                        run_time += view[3]
                    if view[4] is not None:
                        run_parking += view[4]
                    if view[5] is not None:
                        run_reservation += view[5]
                    continue
                pieces = ((view, end_dt, energy_so_far, segment),)
            for piece, piece_end, energy_at_start, piece_segment in pieces:
                if simple_key:
                    key: Any = piece_segment << 5 | piece[SHAPE]
                else:
                    key = (
                        piece_segment,
                        piece[SHAPE],
                        bisect_right(kwh_thresholds, energy_at_start),
                        piece[6:10] if keyed_instantaneous else None,
                    )
                if key == run_key:
                    # Same shape, same restriction state: the run goes on (the common case).
                    last, run_end = index, piece_end
                    if piece[2] is not None:
                        run_energy += piece[2]
                    if piece[3] is not None:
                        run_time += piece[3]
                    if piece[4] is not None:
                        run_parking += piece[4]
                    if piece[5] is not None:
                        run_reservation += piece[5]
                    continue
                if run_key is not None:
                    price_run(selections, first, last, run_start, run_end, run_energy, run_time,
                              run_parking, run_reservation)  # fmt: skip
                # The restriction state at the run's start decides its components (see
                # _evaluate). The tariff caches selections by it, so that equal states in other
                # sessions and on other days are not evaluated again: this lookup is inline
                # because it runs at every run's start.
                start = piece[0]
                if days is None:
                    time_position = weekday = day = 0
                else:
                    time_position, weekday, day = days.states[bisect_right(days.cuts, start)]
                restriction_state = (
                    time_position,
                    weekday if weekdays else 0,
                    bisect_right(dates, day),
                    bisect_right(durations, start - regular_origin)
                    if piece[SHAPE] & SHAPE_SESSION
                    else 0,
                    0 if piece[5] is None else bisect_right(durations, start - reservation_origin),
                    reservation_table,
                    piece[SHAPE] if simple_key else key[1:],
                )
                selections = known.get(restriction_state)
                if selections is None:
                    selections = evaluate(piece, energy_at_start, restriction_state)
                run_key, first, last, run_start, run_end = key, index, index, piece[1], piece_end
                run_energy, run_time, run_parking, run_reservation = piece[2:6]
            if keyed_energy and view[2] is not None:
                energy_so_far += view[2]
        price_run(selections, first, last, run_start, run_end, run_energy, run_time,
                  run_parking, run_reservation)  # fmt: skip

        apply_step_sizes(self.by_key)
        return pricing_result(self, time_zone, reservation_origin is not None)

    def _origins(self) -> tuple[int | None, int | None]:
        """Where durations count from: the start of the charging session, or of the reservation
        for reservation elements (mod_tariffs: min/max_duration "since the start of the
        session"); None when the session has no such part."""
        views, shapes = self.views, self.shapes
        regular_origin = reservation_origin = None
        if views[0][SHAPE] & SHAPE_SESSION:
            regular_origin = views[0][0]
        elif shapes & SHAPE_SESSION:
            regular_origin = next(v[0] for v in views if v[SHAPE] & SHAPE_SESSION)
        if shapes & SHAPE_RESERVATION:
            reservation_origin = next(v[0] for v in views if v[SHAPE] & SHAPE_RESERVATION)
        self.regular_origin, self.reservation_origin = regular_origin, reservation_origin
        # RESERVATION_EXPIRES applies when the reservation was not followed by a session.
        self.reservation_table = EXPIRED_TABLE if regular_origin is None else RESERVATION_TABLE
        return regular_origin, reservation_origin

    def _cuts(
        self, tz: ZoneInfo, regular_origin: int | None, reservation_origin: int | None
    ) -> list[int]:
        """Instants where a time-of-day, date, weekday or duration restriction may switch.

        They cut periods; between two of them those restrictions are constant, so the number of
        cuts passed ("segment") stands for them in the run key. (An instant listed twice just
        makes an empty segment.) The last is a sentinel after any session.
        """
        tariff, start = self.tariff, self.views[0][0]
        cuts: list[int] = []
        if tariff.time_of_day_boundaries_us:
            days = calendar(tz, start, self.end_us, tariff.time_of_day_boundaries_us)
            self.days, self.local = days, days.local_us
            cuts = days.cuts_between(start, self.end_us)
        durations = tariff.duration_thresholds_us
        if durations:
            for origin in (regular_origin, reservation_origin):
                if origin is not None:
                    for duration in durations:
                        insort(cuts, origin + duration)
        cuts.append(_NEVER)
        return cuts

    def _evaluate(
        self, piece: tuple[Any, ...], energy_at_start: Decimal, restriction_state: tuple[Any, ...]
    ) -> tuple[Selection | None, Selection | None]:
        """The components that price a run starting with `piece` (session, reservation), by
        evaluating the tariff's restrictions there; remembered under `restriction_state`.

        That state stands for everything the restrictions depend on at the run's start: the
        local time's position among the tariff's times of day, the weekday and the date's
        position among its dates (kept by the cached calendar per stretch between cuts), the
        position among the duration limits since either origin, and the shape and the rest of
        the run key.
        """
        tariff, state, start = self.tariff, self.state, piece[0]
        _set_state(state, self.local, start, energy_at_start, piece, self.keyed_instantaneous)
        selections = (
            tariff.select(REGULAR_TABLE, state, start - self.regular_origin)
            if piece[SHAPE] & SHAPE_SESSION
            else None,
            None
            if piece[5] is None
            else tariff.select(self.reservation_table, state, start - self.reservation_origin),
        )
        tariff.remember(restriction_state, selections)
        return selections

    def _cut(
        self,
        view: tuple[Any, ...],
        end: int,
        end_dt: datetime,
        energy_so_far: Decimal,
        cuts: list[int],
        segment: int,
    ) -> list[tuple[Any, ...]]:
        """Cut a period where a restriction may switch.

        Returns pieces as (view-like tuple of the piece, its end, session energy at its start,
        its segment). Time-like volumes are shared in proportion to wall-clock time, energy too
        except at kWh thresholds, where the cut is placed.
        """
        start, start_dt, energy, time_h, parking, reservation = view[:6]
        rest = view[6:]
        duration = end - start
        # (fraction of the period, instant, session kWh there or None, segment from there on)
        points: list[tuple[Decimal, int, Decimal | None, int]] = []
        while cuts[segment] < end:
            instant = cuts[segment]
            segment += 1
            points.append((Decimal(instant - start) / duration, instant, None, segment))
        if energy:
            for threshold in self.tariff.kwh_thresholds:
                fraction = (threshold - energy_so_far) / energy
                if 0 < fraction < 1:
                    # Energy is assumed linear in time inside a period (DIGEST 3.4 step 1).
                    points.append((fraction, start + int(fraction * duration), threshold, -1))
        if len(points) > 1:
            points.sort(key=_FRACTION)
        points.append((_ONE, end, None if energy is None else energy_so_far + energy, -1))
        pieces = []
        previous_fraction, previous_instant, previous_dt = _ZERO, start, start_dt
        previous_energy = energy_so_far
        previous_segment = segment - sum(1 for point in points if point[3] >= 0)
        for fraction, instant, kwh, next_segment in points:
            if fraction > previous_fraction:  # else two restrictions switch at one instant
                instant = max(instant, previous_instant)
                if kwh is None:
                    kwh = energy_so_far if energy is None else energy_so_far + energy * fraction
                instant_dt = end_dt if fraction is _ONE else _utc(instant)
                # volume*high - volume*low rather than volume*(high-low): the pieces of a period
                # then add up to exactly its volume (the last ends at fraction 1), however the
                # divisions rounded.
                piece = (
                    previous_instant,
                    previous_dt,
                    None if energy is None else kwh - previous_energy,
                    None if time_h is None else time_h * fraction - time_h * previous_fraction,
                    None if parking is None else parking * fraction - parking * previous_fraction,
                    None
                    if reservation is None
                    else reservation * fraction - reservation * previous_fraction,
                    *rest,
                )
                pieces.append((piece, instant_dt, previous_energy, previous_segment))
                previous_fraction, previous_instant, previous_dt = fraction, instant, instant_dt
                previous_energy = kwh
            if next_segment >= 0:
                previous_segment = next_segment
        return pieces

    def _price_run(
        self,
        selections: tuple[Selection | None, Selection | None],
        first: int,
        last: int,
        start_dt: datetime,
        end_dt: datetime,
        energy: Decimal | None,
        time_h: Decimal | None,
        parking: Decimal | None,
        reservation: Decimal | None,
    ) -> None:
        if energy is not None:
            self.total_energy += energy
        if parking is not None:
            self.total_parking_time += parking
        by_session, by_reservation = selections
        by_key = self.by_key
        if by_session is not None:
            flat, by_energy, by_time, by_parking = by_session
            # FLAT is billed once per session (every spec example; tandemdrive's
            # multiple_flat_fees case): the first FLAT component that becomes active.
            if flat is not None and not by_key[FIXED]:
                self._emit(FIXED, flat, first, first, start_dt, start_dt, _ONE)
            # Zero volumes are skipped: they cost nothing and must not count as the "last"
            # period whose component's step_size applies.
            if by_energy is not None and energy:
                self._emit(ENERGY, by_energy, first, last, start_dt, end_dt, energy)
            if by_time is not None and time_h:
                self._emit(TIME, by_time, first, last, start_dt, end_dt, time_h)
            if by_parking is not None and parking:
                self._emit(PARKING, by_parking, first, last, start_dt, end_dt, parking)
        if by_reservation is not None:
            flat, _, by_time, _ = by_reservation
            if flat is not None and not by_key[RESERVATION_FEE]:
                self._emit(RESERVATION_FEE, flat, first, first, start_dt, start_dt, _ONE)
            # A reservation element's TIME component prices the reservation duration.
            if by_time is not None and reservation:
                self._emit(RESERVATION_TIME, by_time, first, last, start_dt, end_dt, reservation)

    def _emit(
        self,
        key: int,
        component: Component,
        first: int,
        last: int,
        start_dt: datetime,
        end_dt: datetime,
        volume: Decimal,
    ) -> None:
        lines = self.by_key[key]
        if lines:
            line = lines[-1]
            if line[1] is component and line[5] is start_dt:
                # The same component goes on pricing right where its line ends: extend it.
                line[3] = last
                line[5] = end_dt
                line[6] += volume
                return
        line = [key, component, first, last, start_dt, end_dt, volume, None]
        lines.append(line)
        self.lines.append(line)


def _crosses(thresholds: tuple[Decimal, ...], energy_so_far: Decimal, energy: Decimal) -> bool:
    """Return whether the session energy passes a threshold strictly inside a period."""
    low, high = sorted((energy_so_far, energy_so_far + energy))
    return any(low < threshold < high for threshold in thresholds)


def _set_state(
    state: PeriodState,
    local: Callable[[int], int] | None,
    start_us: int,
    energy: Decimal,
    piece: tuple[Any, ...],
    instantaneous: bool,
) -> None:
    """Fill `state` for restrictions evaluated at `start_us`, the start of `piece`."""
    state.energy = energy
    if local is not None:
        day, state.time_of_day_us = divmod(local(start_us), DAY_US)
        state.day = day + EPOCH_ORDINAL
        state.weekday = (day + EPOCH_WEEKDAY) % 7
    if instantaneous:
        min_current, max_current, min_power, max_power = piece[6:10]
        # When only one of a MIN_/MAX_ pair is reported it is the best estimate of the other.
        state.min_current = max_current if min_current is None else min_current
        state.max_current = min_current if max_current is None else max_current
        state.min_power = max_power if min_power is None else min_power
        state.max_power = min_power if max_power is None else max_power


def _utc(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)
