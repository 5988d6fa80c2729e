"""A Tariff compiled for the pricing loop (compile.py builds it): elements, components and
restriction checks as plain structures, and the selections cached per restriction state."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from .types import (
    Price,
)

DIMENSION_TYPES = ("FLAT", "ENERGY", "TIME", "PARKING_TIME")
TARIFF_TYPES = frozenset(
    {"AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"}
)
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
RESERVATION = "RESERVATION"
RESERVATION_EXPIRES = "RESERVATION_EXPIRES"
# Which elements may price a period: see `CompiledTariff.select`.
REGULAR_TABLE, RESERVATION_TABLE, EXPIRED_TABLE = 0, 1, 2

DAY_US = 86_400_000_000
_UNITS = {"FLAT": "", "ENERGY": "kWh", "TIME": "h", "PARKING_TIME": "h"}
_CATEGORIES = {"FLAT": "fixed", "ENERGY": "energy", "TIME": "time", "PARKING_TIME": "parking"}
_HUNDRED = Decimal(100)
# Selections are cached per tariff and restriction state; the cache is cleared at this size.
_CACHE_LIMIT = 4096


class PeriodState:
    """What restrictions are checked against: the state at the start of a (sub-)period."""

    __slots__ = (
        "day",
        "elapsed_us",
        "energy",
        "max_current",
        "max_power",
        "min_current",
        "min_power",
        "time_of_day_us",
        "weekday",
    )

    def __init__(self) -> None:
        self.time_of_day_us = 0  # local wall-clock time of day, µs
        self.day = 0  # local date as a proleptic Gregorian ordinal
        self.weekday = 0  # local weekday, Monday = 0
        self.elapsed_us = 0  # since session start
        self.energy = Decimal(0)  # session energy (kWh) at the start of the period
        # The period's MIN_/MAX_CURRENT and MIN_/MAX_POWER. When only one of a pair is reported
        # it stands in for the other: it is the best estimate of the current. None: unknown.
        self.min_current: Decimal | None = None
        self.max_current: Decimal | None = None
        self.min_power: Decimal | None = None
        self.max_power: Decimal | None = None


Check = Callable[[PeriodState], bool]
Selection = tuple["Component | None", "Component | None", "Component | None", "Component | None"]


class Component:
    """One PriceComponent, with its position in the tariff for the breakdown."""

    __slots__ = (
        "component_index",
        "dimension",
        "element_index",
        "header",
        "price",
        "step_size",
        "unit",
        "vat",
        "vat_factor",
    )

    def __init__(
        self,
        *,
        element_index: int,
        component_index: int,
        dimension: str,
        price: Decimal,
        vat: Decimal | None,
        step_size: int,
        reservation: bool,
    ) -> None:
        self.element_index = element_index
        self.component_index = component_index
        self.dimension = dimension
        self.price = price
        self.vat = vat
        # DIGEST 3.4 step 6: incl = excl * (1 + vat/100); an absent vat means "no VAT applies".
        self.vat_factor = None if vat is None else 1 + vat / _HUNDRED
        self.step_size = step_size
        self.unit = _UNITS[dimension]
        # The BreakdownLine fields this component supplies, category to vat (its last ones). The
        # category is the CDR total; reservation elements' components all go to the reservation.
        self.header = (
            "reservation" if reservation else _CATEGORIES[dimension],
            dimension,
            element_index,
            component_index,
            self.unit,
            price,
            vat,
        )


class Switches:
    """The constants an element's restrictions compare with, i.e. where their state changes."""

    __slots__ = (
        "currents",
        "dates",
        "durations_us",
        "kwh",
        "powers",
        "times_of_day_us",
        "weekdays",
    )

    def __init__(self) -> None:
        self.times_of_day_us: set[int] = set()  # local wall-clock times of day, µs
        self.dates: set[int] = set()  # local date ordinals
        self.weekdays = False  # whether day_of_week is restricted
        self.durations_us: set[int] = set()  # since session start
        self.kwh: set[Decimal] = set()  # session energy
        self.currents: set[Decimal] = set()
        self.powers: set[Decimal] = set()


class Element:
    """One TariffElement: its components by dimension and its restrictions as predicates."""

    __slots__ = ("checks", "components", "index", "reservation", "switches")

    def __init__(
        self,
        *,
        index: int,
        components: dict[str, Component],
        checks: tuple[Check, ...],
        reservation: str | None,
        switches: Switches,
    ) -> None:
        self.index = index
        self.components = components
        self.checks = checks
        self.reservation = reservation
        self.switches = switches


class CompiledTariff:
    """A validated tariff, indexed for pricing; build it with `compile_tariff`."""

    __slots__ = (
        "_tables",
        "currency",
        "dates",
        "duration_thresholds_us",
        "elements",
        "end_date_time",
        "kwh_thresholds",
        "max_price",
        "may_warn",
        "min_price",
        "prices_reservation_time",
        "restricts_current",
        "restricts_power",
        "restricts_weekday",
        "selections",
        "start_date_time",
        "tariff",
        "tariff_id",
        "time_of_day_boundaries_us",
    )

    def __init__(
        self,
        *,
        tariff: Mapping[str, Any],
        elements: tuple[Element, ...],
        currency: str,
        min_price: Price | None,
        max_price: Price | None,
        start_date_time: datetime | None,
        end_date_time: datetime | None,
    ) -> None:
        self.tariff = tariff
        self.tariff_id = tariff.get("id")
        self.currency = currency
        self.elements = elements
        self.min_price = min_price
        self.max_price = max_price
        self.start_date_time = start_date_time
        self.end_date_time = end_date_time

        booked = [e for e in elements if e.reservation == RESERVATION]
        # mod_tariffs ReservationRestrictionType note: for an expired reservation the
        # RESERVATION_EXPIRES elements win over RESERVATION ones, whatever the list order.
        expired = [e for e in elements if e.reservation == RESERVATION_EXPIRES] + booked
        self._tables = ([e for e in elements if e.reservation is None], booked, expired)
        # Selections by restriction state, filled by the pricing loop (see `remember`).
        self.selections: dict[Any, Any] = {}

        switches = [element.switches for element in elements]
        # Where a restriction can switch inside a period; the pricing loop cuts periods there.
        self.time_of_day_boundaries_us = _sorted_union(s.times_of_day_us for s in switches)
        self.duration_thresholds_us = _sorted_union(s.durations_us for s in switches)
        self.kwh_thresholds = _sorted_union(s.kwh for s in switches)
        self.dates = _sorted_union(s.dates for s in switches)
        self.restricts_weekday = any(s.weekdays for s in switches)
        self.restricts_current = any(s.currents for s in switches)
        self.restricts_power = any(s.powers for s in switches)
        self.prices_reservation_time = any("TIME" in e.components for e in booked + expired)
        # Whether a pricing can have a warning other than about reservations (see totals.py).
        self.may_warn = bool(
            start_date_time or end_date_time or self.restricts_current or self.restricts_power
        )

    def __repr__(self) -> str:
        return f"<CompiledTariff {self.tariff_id!r} {len(self.elements)} elements>"

    def select(self, table: int, state: PeriodState, elapsed_us: int) -> Selection:
        """Return the (FLAT, ENERGY, TIME, PARKING_TIME) components that price a period.

        Per dimension: the component of the first element of `table` that has one and whose
        restrictions all hold in `state`, `elapsed_us` after the session start (DIGEST 3.4
        step 2).
        """
        state.elapsed_us = elapsed_us
        found: dict[str, Component] = {}
        for element in self._tables[table]:
            for check in element.checks:
                if not check(state):
                    break
            else:  # all restrictions hold
                for dimension, component in element.components.items():
                    found.setdefault(dimension, component)
        return (
            found.get("FLAT"),
            found.get("ENERGY"),
            found.get("TIME"),
            found.get("PARKING_TIME"),
        )

    def remember(self, key: Any, selections: Any) -> None:
        """Cache the selections of a restriction state (engine.py, _evaluate); bounded."""
        if len(self.selections) >= _CACHE_LIMIT:
            self.selections.clear()
        self.selections[key] = selections


def _sorted_union(sets: Iterable[set[Any]]) -> tuple[Any, ...]:
    return tuple(sorted(set().union(*sets)))
