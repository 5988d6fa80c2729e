"""Parse and validate an OCPI 2.2.1 Tariff once into a structure the pricing loop can use fast."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from apps.tariffs.pricing_types import (
    EPOCH,
    ONE_US,
    Price,
    TariffError,
    parse_ocpi_datetime,
    to_decimal,
)

DIMENSION_TYPES = ("FLAT", "ENERGY", "TIME", "PARKING_TIME")
TARIFF_TYPES = frozenset({
    "AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR",
})
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
RESERVATION = "RESERVATION"
RESERVATION_EXPIRES = "RESERVATION_EXPIRES"

DAY_US = 86_400_000_000
_HHMM = re.compile(r"([0-1][0-9]|2[0-3]):([0-5][0-9])")
_DATE = re.compile(r"([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
_HUNDRED = Decimal(100)


class Context:
    """Mutable evaluation state of one (sub-)period, reused across periods to avoid allocations."""

    __slots__ = (
        "day", "elapsed_us", "energy", "max_current", "max_power", "min_current", "min_power",
        "missing", "time_of_day_us", "weekday",
    )

    def __init__(self) -> None:
        self.time_of_day_us = 0  # local wall-clock time of day, µs
        self.day = 0  # local date as a proleptic Gregorian ordinal
        self.weekday = 0  # local weekday, Monday = 0
        self.elapsed_us = 0  # since session start
        self.energy = Decimal(0)  # session energy (kWh) at the start of the period
        self.min_current: Decimal | None = None
        self.max_current: Decimal | None = None
        self.min_power: Decimal | None = None
        self.max_power: Decimal | None = None
        self.missing: set[str] = set()  # restriction kinds that had no data to be checked against


Check = Callable[[Context], bool]


class Component:
    """One PriceComponent, with its position in the tariff for the breakdown."""

    __slots__ = ("component_index", "dimension", "element_index", "price", "step_size", "vat",
                 "vat_factor")

    def __init__(self, *, element_index: int, component_index: int, dimension: str,
                 price: Decimal, vat: Decimal | None, step_size: int) -> None:
        self.element_index = element_index
        self.component_index = component_index
        self.dimension = dimension
        self.price = price
        self.vat = vat
        # DIGEST 3.4 step 6: incl = excl × (1 + vat/100); an absent vat means "no VAT applies".
        self.vat_factor = None if vat is None else 1 + vat / _HUNDRED
        self.step_size = step_size


class Switches:
    """Where an element's restrictions can change state during a session."""

    __slots__ = ("durations_us", "kwh", "times_of_day_us")

    def __init__(self) -> None:
        self.times_of_day_us: set[int] = set()  # local wall-clock times of day, µs
        self.durations_us: set[int] = set()  # since session start
        self.kwh: set[Decimal] = set()  # session energy


class Element:
    """One TariffElement: its components by dimension and its restrictions as predicates."""

    __slots__ = ("checks", "components", "index", "reservation", "switches")

    def __init__(self, *, index: int, components: dict[str, Component], checks: tuple[Check, ...],
                 reservation: str | None, switches: Switches) -> None:
        self.index = index
        self.components = components
        self.checks = checks
        self.reservation = reservation
        self.switches = switches

    def matches(self, context: Context) -> bool:
        """Return whether all restrictions hold at the start of the period in `context`."""
        for check in self.checks:
            if not check(context):
                return False
        return True


class CompiledTariff:
    """A validated tariff, indexed for pricing; build it with `compile_tariff`."""

    __slots__ = (
        "currency", "duration_thresholds_us", "elements", "end_date_time", "expired_by_dimension",
        "kwh_thresholds", "max_price", "min_price", "regular_by_dimension",
        "reservation_by_dimension", "start_date_time", "tariff", "tariff_id",
        "time_of_day_boundaries_us",
    )

    def __init__(self, *, tariff: Mapping[str, Any], elements: tuple[Element, ...],
                 currency: str, min_price: Price | None, max_price: Price | None,
                 start_date_time: datetime | None, end_date_time: datetime | None) -> None:
        self.tariff = tariff
        self.tariff_id = tariff.get("id")
        self.currency = currency
        self.elements = elements
        self.min_price = min_price
        self.max_price = max_price
        self.start_date_time = start_date_time
        self.end_date_time = end_date_time

        regular = [e for e in elements if e.reservation is None]
        booked = [e for e in elements if e.reservation == RESERVATION]
        # mod_tariffs ReservationRestrictionType note: for an expired reservation the
        # RESERVATION_EXPIRES elements win over RESERVATION ones, whatever the list order.
        expired = [e for e in elements if e.reservation == RESERVATION_EXPIRES] + booked
        self.regular_by_dimension = _by_dimension(regular)
        self.reservation_by_dimension = _by_dimension(booked)
        self.expired_by_dimension = _by_dimension(expired)

        # Instants where a restriction can switch; the pricing loop splits periods there.
        switches = [element.switches for element in elements]
        self.time_of_day_boundaries_us = tuple(sorted(set().union(
            *(s.times_of_day_us for s in switches))))
        self.duration_thresholds_us = tuple(sorted(set().union(*(s.durations_us for s in switches))))
        self.kwh_thresholds = tuple(sorted(set().union(*(s.kwh for s in switches))))

    def __repr__(self) -> str:
        return f"<CompiledTariff {self.tariff_id!r} {len(self.elements)} elements>"


def _by_dimension(elements: list[Element]) -> dict[str, tuple[tuple[Element, Component], ...]]:
    return {
        dimension: tuple((e, e.components[dimension]) for e in elements
                         if dimension in e.components)
        for dimension in DIMENSION_TYPES
    }


def compile_tariff(tariff: Mapping[str, Any]) -> CompiledTariff:
    """Validate an OCPI Tariff JSON object and compile it for `price_periods`."""
    if not isinstance(tariff, Mapping):
        raise TariffError(f"a tariff must be a JSON object, got {type(tariff).__name__}")
    currency = tariff.get("currency")
    if not isinstance(currency, str) or len(currency) != 3:
        raise TariffError(f"currency: expected an ISO 4217 code, got {currency!r}")
    tariff_type = tariff.get("type")
    if tariff_type is not None and tariff_type not in TARIFF_TYPES:
        raise TariffError(f"type: unknown TariffType {tariff_type!r}")
    raw_elements = tariff.get("elements")
    if not isinstance(raw_elements, list) or not raw_elements:
        raise TariffError("elements: a tariff needs at least one TariffElement")
    elements = tuple(_element(raw, i) for i, raw in enumerate(raw_elements))

    min_price = _price(tariff.get("min_price"), "min_price")
    max_price = _price(tariff.get("max_price"), "max_price")
    if min_price and max_price and min_price.excl_vat > max_price.excl_vat:
        raise TariffError("min_price.excl_vat is higher than max_price.excl_vat")
    if (min_price and max_price and min_price.incl_vat is not None
            and max_price.incl_vat is not None and min_price.incl_vat > max_price.incl_vat):
        raise TariffError("min_price.incl_vat is higher than max_price.incl_vat")

    start = tariff.get("start_date_time")
    end = tariff.get("end_date_time")
    return CompiledTariff(
        tariff=tariff,
        elements=elements,
        currency=currency,
        min_price=min_price,
        max_price=max_price,
        start_date_time=None if start is None else parse_ocpi_datetime(
            start, "start_date_time", TariffError),
        end_date_time=None if end is None else parse_ocpi_datetime(
            end, "end_date_time", TariffError),
    )


def _price(raw: Any, where: str) -> Price | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or "excl_vat" not in raw:
        raise TariffError(f"{where}: expected a Price object with excl_vat, got {raw!r}")
    excl = _non_negative(raw["excl_vat"], f"{where}.excl_vat")
    incl = raw.get("incl_vat")
    return Price(excl, None if incl is None else _non_negative(incl, f"{where}.incl_vat"))


def _non_negative(value: Any, where: str) -> Decimal:
    number = to_decimal(value, where, TariffError)
    if number < 0:
        raise TariffError(f"{where}: must not be negative, got {value!r}")
    return number


def _element(raw: Any, index: int) -> Element:
    where = f"elements[{index}]"
    if not isinstance(raw, Mapping):
        raise TariffError(f"{where}: expected a TariffElement object, got {raw!r}")
    raw_components = raw.get("price_components")
    if not isinstance(raw_components, list) or not raw_components:
        raise TariffError(f"{where}.price_components: at least one PriceComponent is required")
    components: dict[str, Component] = {}
    for position, component in enumerate(raw_components):
        parsed = _component(component, index, position)
        if parsed.dimension in components:
            # The first-match rule picks one component per dimension; two in one element would
            # leave the price undefined.
            raise TariffError(
                f"{where}.price_components[{position}]: a second {parsed.dimension} component "
                f"in the same element"
            )
        components[parsed.dimension] = parsed
    restrictions = raw.get("restrictions")
    if restrictions is None:
        restrictions = {}
    if not isinstance(restrictions, Mapping):
        raise TariffError(f"{where}.restrictions: expected a TariffRestrictions object")
    switches = Switches()
    checks, reservation = _restrictions(restrictions, f"{where}.restrictions", switches)
    if reservation is not None:
        not_allowed = set(components) - {"FLAT", "TIME"}
        if not_allowed:
            raise TariffError(
                f"{where}: a reservation element may only have FLAT and TIME components "
                f"(mod_tariffs TariffRestrictions.reservation), found {sorted(not_allowed)}"
            )
    return Element(index=index, components=components, checks=checks, reservation=reservation,
                   switches=switches)


def _component(raw: Any, element_index: int, position: int) -> Component:
    where = f"elements[{element_index}].price_components[{position}]"
    if not isinstance(raw, Mapping):
        raise TariffError(f"{where}: expected a PriceComponent object, got {raw!r}")
    dimension = raw.get("type")
    if dimension not in DIMENSION_TYPES:
        raise TariffError(f"{where}.type: unknown TariffDimensionType {dimension!r}")
    # Negative prices would be refunds; OCPI expresses those with credit CDRs, not tariffs.
    price = _non_negative(raw.get("price"), f"{where}.price")
    vat = raw.get("vat")
    step_size = raw.get("step_size")
    if isinstance(step_size, Decimal) and step_size == step_size.to_integral_value():
        step_size = int(step_size)
    if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 0:
        raise TariffError(f"{where}.step_size: expected a non-negative integer, got {step_size!r}")
    return Component(
        element_index=element_index,
        component_index=position,
        dimension=dimension,
        price=price,
        vat=None if vat is None else _non_negative(vat, f"{where}.vat"),
        step_size=step_size,
    )


def _time_of_day_us(value: str) -> int:
    hours, minutes = value.split(":")
    return (int(hours) * 60 + int(minutes)) * 60_000_000


def _date_ordinal(value: Any, where: str) -> int:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise TariffError(f"{where}: expected a YYYY-MM-DD date, got {value!r}")
    try:
        return date.fromisoformat(value).toordinal()
    except ValueError:
        raise TariffError(f"{where}: not a calendar date: {value!r}") from None


def _restrictions(raw: Mapping[str, Any], where: str,
                  switches: Switches) -> tuple[tuple[Check, ...], str | None]:
    """Turn TariffRestrictions into predicates over a `Context` (all AND-ed)."""
    checks: list[Check] = []

    times = {}
    for key in ("start_time", "end_time"):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not _HHMM.fullmatch(value):
            raise TariffError(f"{where}.{key}: expected local time HH:MM, got {value!r}")
        times[key] = _time_of_day_us(value)
        switches.times_of_day_us.add(times[key])
    if times:
        checks.append(_time_window(times.get("start_time"), times.get("end_time")))

    if raw.get("start_date") is not None or raw.get("end_date") is not None or raw.get(
            "day_of_week"):
        switches.times_of_day_us.add(0)  # the local date and weekday change at local midnight
    if raw.get("start_date") is not None:
        start_day = _date_ordinal(raw["start_date"], f"{where}.start_date")
        checks.append(lambda c: c.day >= start_day)
    if raw.get("end_date") is not None:
        end_day = _date_ordinal(raw["end_date"], f"{where}.end_date")
        checks.append(lambda c: c.day < end_day)  # end_date is exclusive

    # Energy: min inclusive, max exclusive (mod_tariffs TariffRestrictions).
    if raw.get("min_kwh") is not None:
        min_kwh = to_decimal(raw["min_kwh"], f"{where}.min_kwh", TariffError)
        switches.kwh.add(min_kwh)
        checks.append(lambda c: c.energy >= min_kwh)
    if raw.get("max_kwh") is not None:
        max_kwh = to_decimal(raw["max_kwh"], f"{where}.max_kwh", TariffError)
        switches.kwh.add(max_kwh)
        checks.append(lambda c: c.energy < max_kwh)

    for key, check in _INSTANTANEOUS.items():
        if raw.get(key) is not None:
            checks.append(check(to_decimal(raw[key], f"{where}.{key}", TariffError)))

    for key in ("min_duration", "max_duration"):
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, Decimal) and value == value.to_integral_value():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TariffError(f"{where}.{key}: expected a non-negative number of seconds, "
                              f"got {value!r}")
        threshold = value * 1_000_000
        switches.durations_us.add(threshold)
        if key == "min_duration":
            checks.append(lambda c: c.elapsed_us >= threshold)
        else:
            checks.append(lambda c: c.elapsed_us < threshold)

    days = raw.get("day_of_week")
    if days:
        if not isinstance(days, list) or any(day not in WEEKDAYS for day in days):
            raise TariffError(f"{where}.day_of_week: expected a list of DayOfWeek, got {days!r}")
        weekdays = frozenset(WEEKDAYS.index(day) for day in days)
        checks.append(lambda c: c.weekday in weekdays)

    reservation = raw.get("reservation")
    if reservation is not None and reservation not in (RESERVATION, RESERVATION_EXPIRES):
        raise TariffError(f"{where}.reservation: unknown ReservationRestrictionType "
                          f"{reservation!r}")
    return tuple(checks), reservation


def _time_window(start: int | None, end: int | None) -> Check:
    # "00:00" as end_time means "until the end of the day" (mod_tariffs), i.e. 24:00.
    if end == 0:
        end = DAY_US
    if start is None:
        return lambda c: c.time_of_day_us < end
    if end is None:
        return lambda c: c.time_of_day_us >= start
    if end <= start:
        # The window wraps past midnight (end < start). start == end is read as a full
        # 24-hour window: an empty window would make the element pointless.
        return lambda c: c.time_of_day_us >= start or c.time_of_day_us < end
    return lambda c: start <= c.time_of_day_us < end


# min_/max_ current and power compare the period's MIN_/MAX_ dimension: "current >= 32 A" holds
# for a whole period only if its minimum current is >= 32 A, "current < 32 A" needs its maximum
# below 32 A. When only the other bound is reported it is the best estimate of the current. With no
# value at all the restriction cannot be falsified and is treated as met (as tandemdrive's
# ocpi-tariffs does); `Context.missing` records it so the result can warn.
def _min_current(limit: Decimal) -> Check:
    def check(c: Context) -> bool:
        value = c.min_current if c.min_current is not None else c.max_current
        if value is None:
            c.missing.add("current")
            return True
        return value >= limit
    return check


def _max_current(limit: Decimal) -> Check:
    def check(c: Context) -> bool:
        value = c.max_current if c.max_current is not None else c.min_current
        if value is None:
            c.missing.add("current")
            return True
        return value < limit
    return check


def _min_power(limit: Decimal) -> Check:
    def check(c: Context) -> bool:
        value = c.min_power if c.min_power is not None else c.max_power
        if value is None:
            c.missing.add("power")
            return True
        return value >= limit
    return check


def _max_power(limit: Decimal) -> Check:
    def check(c: Context) -> bool:
        value = c.max_power if c.max_power is not None else c.min_power
        if value is None:
            c.missing.add("power")
            return True
        return value < limit
    return check


_INSTANTANEOUS = {
    "min_current": _min_current, "max_current": _max_current,
    "min_power": _min_power, "max_power": _max_power,
}


def instant_us(moment: datetime) -> int:
    """Return an aware datetime as integer µs since the Unix epoch (exact, no float)."""
    return (moment - EPOCH) // ONE_US
