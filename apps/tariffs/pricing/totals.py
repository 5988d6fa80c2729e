"""The CDR totals of one pricing run (engine.py): step_size, rounding, min/max price, warnings.

The engine prices runs of pieces into breakdown lines, lists [key, component, first period,
last period, start, end, volume, step surplus or None]; this module turns them into the OCPI CDR
totals (mod_cdrs), by the rules 4 and 5 of the package's docstring.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from .tariff import RESERVATION, CompiledTariff
from .types import SHAPE_SESSION, BreakdownLine, Price, PricingResult, make_price, make_result

_ZERO = Decimal(0)
_CENTS4 = Decimal("0.0001")
# Step rounding looks at totals to a millionth of a step unit (µs, µWh): hour volumes such as
# 1 s = 0.000277… h are not exact in decimal, and a 1e-28 excess must not cost a whole step.
_STEP_RESOLUTION = Decimal("0.000001")
US_PER_HOUR = Decimal(3_600_000_000)
_WH_PER_KWH = Decimal(1000)
_SECONDS_PER_HOUR = Decimal(3600)
SHAPE = 10  # index of the SHAPE_* bits in a ChargingPeriodInput.engine_view
# Keys of the per-total line lists. Reservation FLAT and TIME both add to total_reservation_cost
# but are kept apart because step_size concerns only the latter.
FIXED, ENERGY, TIME, PARKING, RESERVATION_TIME, RESERVATION_FEE = range(6)
_new_tuple = tuple.__new__


class Run(Protocol):
    """What this module reads of a pricing run (engine._Pricing)."""

    tariff: CompiledTariff
    views: list[tuple[Any, ...]]
    end_us: int
    lines: list[list[Any]]
    by_key: tuple[list[list[Any]], ...]
    total_energy: Decimal
    total_parking_time: Decimal


def apply_step_sizes(by_key: tuple[list[list[Any]], ...]) -> None:
    """mod_cdrs step_size, once per session total."""
    if by_key[ENERGY]:
        _apply_step_size(by_key[ENERGY], _WH_PER_KWH)
    # Once for TIME and PARKING_TIME together; when both are used only the parking duration is
    # rounded (charging time followed by parking is not). Lines have non-zero volumes (see
    # engine._Pricing._price_run), so any parking line means priced parking.
    time_lines = by_key[PARKING] or by_key[TIME]
    if time_lines:
        _apply_step_size(time_lines, _SECONDS_PER_HOUR)
    if by_key[RESERVATION_TIME]:
        _apply_step_size(by_key[RESERVATION_TIME], _SECONDS_PER_HOUR)


def _apply_step_size(lines: list[list[Any]], units_per_volume: Decimal) -> None:
    """Round the session total of `lines` up to the last line's step, billing it there."""
    step = lines[-1][1].step_size
    if step <= 0:
        return
    total = _ZERO
    for line in lines:
        total += line[6]
    if total <= 0:
        return
    # Hour volumes such as 1 s = 0.000277… h are not exact in decimal: an excess below a
    # millionth of a unit (µs, µWh) is such an artefact and must not cost a whole step.
    remainder = (total * units_per_volume) % step
    if remainder >= _STEP_RESOLUTION:
        lines[-1][7] = (step - remainder) / units_per_volume


def pricing_result(run: Run, time_zone: str, reservation: bool) -> PricingResult:
    """The CDR totals of a pricing run's breakdown lines, rounded once each, and the warnings."""
    tariff = run.tariff
    breakdown = []
    # Unrounded cost sums per line key, excl. and incl. VAT.
    excls: list[Decimal | None] = [None] * len(run.by_key)
    incls: list[Decimal | None] = [None] * len(run.by_key)
    for key, component, first, last, start_dt, end_dt, volume, surplus in run.lines:
        billed = volume if surplus is None else volume + surplus
        excl = component.price * billed
        factor = component.vat_factor
        incl = excl if factor is None else excl * factor
        # tuple.__new__ skips the NamedTuple's Python-level __new__, and concatenating the
        # component's part beats unpacking it: each a measurable share of a pricing.
        fields = (first, last, start_dt, end_dt, volume, billed, excl, incl)
        breakdown.append(_new_tuple(BreakdownLine, fields + component.header))
        if excls[key] is None:
            excls[key], incls[key] = excl, incl
        else:
            excls[key] += excl
            incls[key] += incl
    fee = excls[RESERVATION_FEE]
    if fee is not None:
        if excls[RESERVATION_TIME] is None:
            excls[RESERVATION_TIME], incls[RESERVATION_TIME] = fee, incls[RESERVATION_FEE]
        else:
            excls[RESERVATION_TIME] += fee
            incls[RESERVATION_TIME] += incls[RESERVATION_FEE]
    totals: list[Price | None] = []
    subtotal_excl = subtotal_incl = _ZERO
    for unrounded_excl, unrounded_incl in zip(excls[:RESERVATION_FEE], incls, strict=False):
        if unrounded_excl is None:
            totals.append(None)
            continue
        # Each CDR total is rounded once, and total_cost is their sum, so that the parts
        # of a CDR always add up to its total (before min/max price).
        excl = unrounded_excl.quantize(_CENTS4, ROUND_HALF_UP)
        incl = unrounded_incl.quantize(_CENTS4, ROUND_HALF_UP)
        totals.append(make_price(excl, incl))
        subtotal_excl += excl
        subtotal_incl += incl
    subtotal = make_price(subtotal_excl, subtotal_incl)
    # A limit given without incl_vat bounds only the total excl. VAT.
    low, high = tariff.min_price, tariff.max_price
    if low is None and high is None:
        total = subtotal
    else:
        total = make_price(
            _clamp(subtotal_excl, low and low.excl_vat, high and high.excl_vat),
            _clamp(subtotal_incl, low and low.incl_vat, high and high.incl_vat),
        )
    hours = (run.end_us - run.views[0][0]) / US_PER_HOUR
    return make_result(
        {
            "currency": tariff.currency,
            "total_cost": total,
            "total_fixed_cost": totals[FIXED],
            "total_energy": run.total_energy.quantize(_CENTS4, ROUND_HALF_UP),
            "total_energy_cost": totals[ENERGY],
            "total_time": hours.quantize(_CENTS4, ROUND_HALF_UP),
            "total_time_cost": totals[TIME],
            "total_parking_time": run.total_parking_time.quantize(_CENTS4, ROUND_HALF_UP),
            "total_parking_cost": totals[PARKING],
            "total_reservation_cost": totals[RESERVATION_TIME],
            "breakdown": breakdown,
            "subtotal": subtotal,
            "tariff_id": tariff.tariff_id,
            "time_zone": time_zone,
            "warnings": _warnings(run) if tariff.may_warn or reservation else (),
        }
    )


def _warnings(run: Run) -> tuple[str, ...]:
    tariff, views = run.tariff, run.views
    warnings = []
    start = views[0][1]
    # The tariff in force at session start applies to the whole session (DIGEST 3.4). One
    # that was not valid then is still applied, because the caller chose it, but flagged.
    if tariff.start_date_time is not None and start < tariff.start_date_time:
        warnings.append(
            f"tariff is only valid from {tariff.start_date_time.isoformat()}, after the "
            f"session start {start.isoformat()}"
        )
    if tariff.end_date_time is not None and start >= tariff.end_date_time:
        warnings.append(
            f"tariff expired at {tariff.end_date_time.isoformat()}, before the session "
            f"start {start.isoformat()}"
        )
    for quantity, restricted, first in (
        ("current", tariff.restricts_current, 6),
        ("power", tariff.restricts_power, 8),
    ):
        if restricted and any(
            v[first] is None and v[first + 1] is None for v in views if v[SHAPE] & SHAPE_SESSION
        ):
            warnings.append(
                f"a period reports no MIN_/MAX_{quantity.upper()}: the tariff's {quantity} "
                f"restrictions were treated as met there"
            )
    if any(v[5] for v in views) and not tariff.prices_reservation_time:
        warnings.append(
            f"reservation time is not priced: the tariff has no {RESERVATION} element with a "
            f"TIME component"
        )
    return tuple(warnings)


def _clamp(value: Decimal, low: Decimal | None, high: Decimal | None) -> Decimal:
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high
    return value.quantize(_CENTS4, ROUND_HALF_UP)
