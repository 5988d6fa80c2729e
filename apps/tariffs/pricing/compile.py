"""Parse and validate an OCPI 2.2.1 Tariff once into a CompiledTariff (tariff.py) the pricing
loop can use fast: every rule of mod_tariffs that can be checked without a session is checked
here, so a bad tariff is refused when it is stored, not when a driver's session is priced."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from .tariff import (
    DAY_US,
    DIMENSION_TYPES,
    RESERVATION,
    RESERVATION_EXPIRES,
    TARIFF_TYPES,
    WEEKDAYS,
    Check,
    CompiledTariff,
    Component,
    Element,
    Switches,
)
from .types import Price, TariffError, parse_ocpi_datetime, to_decimal

_HHMM = re.compile(r"([0-1][0-9]|2[0-3]):([0-5][0-9])")
_DATE = re.compile(r"([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")


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
    if min_price and max_price:
        for part in ("excl_vat", "incl_vat"):
            low, high = getattr(min_price, part), getattr(max_price, part)
            if low is not None and high is not None and low > high:
                raise TariffError(f"min_price.{part} is higher than max_price.{part}")

    start = tariff.get("start_date_time")
    end = tariff.get("end_date_time")
    return CompiledTariff(
        tariff=tariff,
        elements=elements,
        currency=currency,
        min_price=min_price,
        max_price=max_price,
        start_date_time=(
            None if start is None else parse_ocpi_datetime(start, "start_date_time", TariffError)
        ),
        end_date_time=(
            None if end is None else parse_ocpi_datetime(end, "end_date_time", TariffError)
        ),
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


def _whole(value: Any) -> Any:
    """Return integral Decimals (JSON `300.0`) as int; anything else unchanged."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return value


def _element(raw: Any, index: int) -> Element:
    where = f"elements[{index}]"
    if not isinstance(raw, Mapping):
        raise TariffError(f"{where}: expected a TariffElement object, got {raw!r}")
    raw_components = raw.get("price_components")
    if not isinstance(raw_components, list) or not raw_components:
        raise TariffError(f"{where}.price_components: at least one PriceComponent is required")
    restrictions = raw.get("restrictions")
    if restrictions is None:
        restrictions = {}
    if not isinstance(restrictions, Mapping):
        raise TariffError(f"{where}.restrictions: expected a TariffRestrictions object")
    switches = Switches()
    checks, reservation = _restrictions(restrictions, f"{where}.restrictions", switches)
    components: dict[str, Component] = {}
    for position, component in enumerate(raw_components):
        parsed = _component(component, index, position, reservation=reservation is not None)
        if parsed.dimension in components:
            # The first-match rule picks one component per dimension; two in one element would
            # leave the price undefined.
            raise TariffError(
                f"{where}.price_components[{position}]: a second {parsed.dimension} component "
                f"in the same element"
            )
        components[parsed.dimension] = parsed
    if reservation is not None and set(components) - {"FLAT", "TIME"}:
        raise TariffError(
            f"{where}: a reservation element may only have FLAT and TIME components "
            f"(mod_tariffs TariffRestrictions.reservation), found {sorted(components)}"
        )
    return Element(
        index=index,
        components=components,
        checks=checks,
        reservation=reservation,
        switches=switches,
    )


def _component(raw: Any, element_index: int, position: int, *, reservation: bool) -> Component:
    where = f"elements[{element_index}].price_components[{position}]"
    if not isinstance(raw, Mapping):
        raise TariffError(f"{where}: expected a PriceComponent object, got {raw!r}")
    dimension = raw.get("type")
    if dimension not in DIMENSION_TYPES:
        raise TariffError(f"{where}.type: unknown TariffDimensionType {dimension!r}")
    # Negative prices would be refunds; OCPI expresses those with credit CDRs, not tariffs.
    price = _non_negative(raw.get("price"), f"{where}.price")
    vat = raw.get("vat")
    step_size = _whole(raw.get("step_size"))
    if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 0:
        raise TariffError(f"{where}.step_size: expected a non-negative integer, got {step_size!r}")
    return Component(
        element_index=element_index,
        component_index=position,
        dimension=dimension,
        price=price,
        vat=None if vat is None else _non_negative(vat, f"{where}.vat"),
        step_size=step_size,
        reservation=reservation,
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


def _restrictions(
    raw: Mapping[str, Any], where: str, switches: Switches
) -> tuple[tuple[Check, ...], str | None]:
    """Turn TariffRestrictions into predicates over a `PeriodState` (all AND-ed)."""
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

    for key in ("start_date", "end_date"):
        if raw.get(key) is None:
            continue
        day = _date_ordinal(raw[key], f"{where}.{key}")
        switches.dates.add(day)
        switches.times_of_day_us.add(0)  # the local date changes at local midnight
        if key == "start_date":
            checks.append(lambda c, day=day: c.day >= day)
        else:
            checks.append(lambda c, day=day: c.day < day)  # end_date is exclusive

    days = raw.get("day_of_week")
    if days:
        if not isinstance(days, list) or any(day not in WEEKDAYS for day in days):
            raise TariffError(f"{where}.day_of_week: expected a list of DayOfWeek, got {days!r}")
        # Like every restriction, the weekday is that of the instant: a FRIDAY 22:00-06:00
        # element does not reach into Saturday morning (the spec ANDs restrictions; it has no
        # notion of a window belonging to the day it started on).
        weekdays = frozenset(WEEKDAYS.index(day) for day in days)
        switches.weekdays = True
        switches.times_of_day_us.add(0)
        checks.append(lambda c: c.weekday in weekdays)

    # Energy: min inclusive, max exclusive (mod_tariffs TariffRestrictions).
    for key in ("min_kwh", "max_kwh"):
        if raw.get(key) is None:
            continue
        kwh = to_decimal(raw[key], f"{where}.{key}", TariffError)
        switches.kwh.add(kwh)
        if key == "min_kwh":
            checks.append(lambda c, kwh=kwh: c.energy >= kwh)
        else:
            checks.append(lambda c, kwh=kwh: c.energy < kwh)

    # Durations since session start: min inclusive, max exclusive.
    for key in ("min_duration", "max_duration"):
        value = _whole(raw.get(key))
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TariffError(f"{where}.{key}: expected whole seconds >= 0, got {value!r}")
        threshold = value * 1_000_000
        switches.durations_us.add(threshold)
        if key == "min_duration":
            checks.append(lambda c, threshold=threshold: c.elapsed_us >= threshold)
        else:
            checks.append(lambda c, threshold=threshold: c.elapsed_us < threshold)

    # min_/max_ current and power compare the period's MIN_/MAX_ dimension: "current >= 32 A"
    # holds for a whole period only if its minimum current is >= 32 A, "current < 32 A" needs its
    # maximum below 32 A. With no value reported the restriction cannot be falsified and is
    # treated as met, as tandemdrive's ocpi-tariffs does (the pricing result warns).
    for key, constants in (
        ("min_current", switches.currents),
        ("max_current", switches.currents),
        ("min_power", switches.powers),
        ("max_power", switches.powers),
    ):
        if raw.get(key) is not None:
            limit = to_decimal(raw[key], f"{where}.{key}", TariffError)
            constants.add(limit)
            checks.append(_INSTANTANEOUS[key](limit))

    reservation = raw.get("reservation")
    if reservation is not None and reservation not in (RESERVATION, RESERVATION_EXPIRES):
        raise TariffError(
            f"{where}.reservation: unknown ReservationRestrictionType {reservation!r}"
        )
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


_INSTANTANEOUS: dict[str, Callable[[Decimal], Check]] = {
    "min_current": lambda limit: lambda c: c.min_current is None or c.min_current >= limit,
    "max_current": lambda limit: lambda c: c.max_current is None or c.max_current < limit,
    "min_power": lambda limit: lambda c: c.min_power is None or c.min_power >= limit,
    "max_power": lambda limit: lambda c: c.max_power is None or c.max_power < limit,
}
