"""Value types shared by the pricing engine modules (see `apps.tariffs.pricing`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

# OCPI 2.2.1 CdrDimensionType values (mod_cdrs). The session-only ones (CURRENT, POWER, ...) are
# accepted so a Session's charging_periods can be priced too; the engine just ignores them.
CDR_DIMENSION_TYPES = frozenset(
    {
        "CURRENT",
        "ENERGY",
        "ENERGY_EXPORT",
        "ENERGY_IMPORT",
        "MAX_CURRENT",
        "MIN_CURRENT",
        "MAX_POWER",
        "MIN_POWER",
        "PARKING_TIME",
        "POWER",
        "RESERVATION_TIME",
        "STATE_OF_CHARGE",
        "TIME",
    }
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = Decimal("0.000001")
ONE_US = timedelta(microseconds=1)


# Bits of a period's shape: which volumes it has, and which part of the session it belongs to.
SHAPE_ENERGY, SHAPE_TIME, SHAPE_PARKING, SHAPE_RESERVATION, SHAPE_SESSION = 1, 2, 4, 8, 16


def _shape(energy: Any, time: Any, parking: Any, reservation: Any) -> int:
    shape = (
        (energy is not None) * SHAPE_ENERGY
        | (time is not None) * SHAPE_TIME
        | (parking is not None) * SHAPE_PARKING
        | (reservation is not None) * SHAPE_RESERVATION
    )
    # A period with only reservation time is the reservation; any other period (even one with
    # no volumes at all) belongs to the charging session, which is what FLAT needs.
    if shape != SHAPE_RESERVATION:
        shape |= SHAPE_SESSION
    return shape


class PricingError(ValueError):
    """Input the pricing engine cannot price (bad period, time zone, date...)."""


class TariffError(PricingError):
    """The tariff JSON is not a valid OCPI 2.2.1 Tariff."""


def to_decimal(value: Any, where: str, error: type[PricingError] = PricingError) -> Decimal:
    """Return `value` as a finite Decimal; floats go through `str` so 0.1 stays 0.1."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int) and not isinstance(value, bool):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(str(value))
    else:
        raise error(f"{where}: expected a number, got {value!r}")
    if not result.is_finite():
        raise error(f"{where}: expected a finite number, got {value!r}")
    return result


def parse_ocpi_datetime(value: Any, where: str, error: type[PricingError]) -> datetime:
    """Parse an OCPI DateTime (RFC 3339, UTC; no designator means UTC per the spec) into UTC."""
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise error(f"{where}: datetime must be timezone-aware, got {value!r}")
        return value.astimezone(UTC)
    if not isinstance(value, str):
        raise error(f"{where}: expected an RFC 3339 date-time string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise error(f"{where}: not an RFC 3339 date-time: {value!r}") from None
    if parsed.tzinfo is None:
        # OCPI transport_and_format: "the absence of the timezone designator implies UTC".
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Price:
    """An OCPI Price: an amount excluding VAT and, when known, including VAT."""

    excl_vat: Decimal
    incl_vat: Decimal | None

    def to_ocpi(self) -> dict[str, Decimal]:
        """Return the OCPI JSON form (`incl_vat` omitted when unknown)."""
        if self.incl_vat is None:
            return {"excl_vat": self.excl_vat}
        return {"excl_vat": self.excl_vat, "incl_vat": self.incl_vat}


@dataclass(frozen=True, slots=True)
class ChargingPeriodInput:
    """One OCPI ChargingPeriod: its start instant and its CdrDimension volumes keyed by type."""

    start_date_time: datetime
    dimensions: Mapping[str, Decimal] = field(default_factory=dict)
    # What the engine reads, derived once here so that pricing the same periods again (benchmarks,
    # re-pricing a CDR with another tariff) does not redo it: start as µs since the epoch and in
    # UTC; the ENERGY, TIME, PARKING_TIME, RESERVATION_TIME, MIN_CURRENT, MAX_CURRENT, MIN_POWER
    # and MAX_POWER volumes (None when absent); and the period's SHAPE_* bits.
    engine_view: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        start = self.start_date_time
        if not isinstance(start, datetime) or start.utcoffset() is None:
            raise PricingError(
                f"charging period start_date_time must be a timezone-aware datetime, got {start!r}"
            )
        volumes = {}
        for dimension_type, volume in self.dimensions.items():
            if dimension_type not in CDR_DIMENSION_TYPES:
                raise PricingError(f"unknown CdrDimensionType {dimension_type!r}")
            volumes[dimension_type] = to_decimal(volume, f"dimension {dimension_type} volume")
        object.__setattr__(self, "dimensions", volumes)
        get = volumes.get
        energy, time, parking = get("ENERGY"), get("TIME"), get("PARKING_TIME")
        reservation = get("RESERVATION_TIME")
        object.__setattr__(
            self,
            "engine_view",
            (
                (start - EPOCH) // ONE_US,
                start.astimezone(UTC),
                energy,
                time,
                parking,
                reservation,
                get("MIN_CURRENT"),
                get("MAX_CURRENT"),
                get("MIN_POWER"),
                get("MAX_POWER"),
                _shape(energy, time, parking, reservation),
            ),
        )

    @classmethod
    def from_ocpi(cls, data: Mapping[str, Any]) -> ChargingPeriodInput:
        """Build from an OCPI ChargingPeriod JSON object (`tariff_id` is ignored)."""
        if not isinstance(data, Mapping):
            raise PricingError(f"a charging period must be a JSON object, got {data!r}")
        start = parse_ocpi_datetime(
            data.get("start_date_time"), "charging period start_date_time", PricingError
        )
        raw_dimensions = data.get("dimensions")
        if not isinstance(raw_dimensions, list):
            raise PricingError("charging period dimensions must be a list")
        volumes: dict[str, Decimal] = {}
        for dimension in raw_dimensions:
            if not isinstance(dimension, Mapping):
                raise PricingError(f"a CdrDimension must be a JSON object, got {dimension!r}")
            dimension_type = dimension.get("type")
            if dimension_type in volumes:
                raise PricingError(f"dimension {dimension_type} appears twice in one period")
            volumes[dimension_type] = dimension.get("volume")
        return cls(start_date_time=start, dimensions=volumes)


class BreakdownLine(NamedTuple):
    """How one price component priced a run of consecutive (parts of) charging periods."""

    # A NamedTuple rather than a dataclass: pricings create many of these and the engine has a
    # throughput budget (bench/bench_pricing.py).

    first_period: int  # index of the first charging period in the run this line prices
    last_period: int
    start_date_time: datetime  # UTC
    end_date_time: datetime  # UTC
    volume: Decimal  # measured volume (1 for FLAT)
    billed_volume: Decimal  # volume plus any step_size surplus billed here
    cost_excl_vat: Decimal
    cost_incl_vat: Decimal
    # What priced it (the engine appends these from the component, in this order):
    category: str  # fixed | energy | time | parking | reservation: the CDR total it adds to
    dimension: str  # TariffDimensionType of the component: FLAT | ENERGY | TIME | PARKING_TIME
    element_index: int
    component_index: int
    unit: str  # kWh | h | "" (FLAT)
    price: Decimal  # per unit, excl. VAT
    vat: Decimal | None  # percentage; None: no VAT applies

    def describe(self) -> str:
        """Return one printable line."""
        if self.dimension == "FLAT":
            quantity = "flat fee"
        elif self.billed_volume != self.volume:
            quantity = (
                f"{_fmt(self.volume)} {self.unit}, billed {_fmt(self.billed_volume)} {self.unit},"
            )
        else:
            quantity = f"{_fmt(self.volume)} {self.unit}"
        vat = "no VAT" if self.vat is None else f"VAT {_fmt(self.vat)}%"
        per = "" if self.dimension == "FLAT" else f"/{self.unit}"
        periods = (
            f"period {self.first_period}"
            if self.first_period == self.last_period
            else f"periods {self.first_period}-{self.last_period}"
        )
        return (
            f"{periods} {self.start_date_time:%Y-%m-%d %H:%M:%S} to "
            f"{self.end_date_time:%Y-%m-%d %H:%M:%S} UTC: {self.category} by element "
            f"{self.element_index} component {self.component_index} ({self.dimension}) "
            f"{quantity} at {_fmt(self.price)}{per} = {_fmt(self.cost_excl_vat)} excl. VAT, "
            f"{_fmt(self.cost_incl_vat)} incl. ({vat})"
        )


@dataclass(frozen=True)
class PricingResult:
    """The CDR totals of a priced session, with the breakdown that produced them."""

    currency: str
    total_cost: Price
    total_fixed_cost: Price | None
    total_energy: Decimal
    total_energy_cost: Price | None
    total_time: Decimal
    total_time_cost: Price | None
    total_parking_time: Decimal
    total_parking_cost: Price | None
    total_reservation_cost: Price | None
    breakdown: list[BreakdownLine]
    # Sum of the five cost parts, before the tariff's min_price/max_price were applied.
    subtotal: Price
    tariff_id: str | None
    time_zone: str
    warnings: tuple[str, ...] = ()

    def to_ocpi_totals(self) -> dict[str, Any]:
        """Return the CDR `total_*` fields as OCPI JSON values (absent costs omitted)."""
        totals: dict[str, Any] = {
            "currency": self.currency,
            "total_cost": self.total_cost.to_ocpi(),
            "total_energy": self.total_energy,
            "total_time": self.total_time,
            "total_parking_time": self.total_parking_time,
        }
        for name in ("fixed", "energy", "time", "parking", "reservation"):
            price = getattr(self, f"total_{name}_cost")
            if price is not None:
                totals[f"total_{name}_cost"] = price.to_ocpi()
        return totals

    def describe(self) -> str:
        """Return a printable multi-line explanation of the price."""
        lines = [
            f"Tariff {self.tariff_id or '(no id)'} in {self.currency}, local time zone "
            f"{self.time_zone}"
        ]
        lines += [f"  {line.describe()}" for line in self.breakdown] or ["  (nothing priced)"]
        lines.append(
            f"Energy {_fmt(self.total_energy)} kWh, time {_fmt(self.total_time)} h "
            f"(of which parking {_fmt(self.total_parking_time)} h)"
        )
        for name in ("fixed", "energy", "time", "parking", "reservation"):
            price = getattr(self, f"total_{name}_cost")
            if price is not None:
                lines.append(f"  {name + ' cost':<17}{_fmt_price(price)}")
        if self.subtotal != self.total_cost:
            lines.append(f"  {'subtotal':<17}{_fmt_price(self.subtotal)} (before min/max price)")
        lines.append(f"  {'TOTAL':<17}{_fmt_price(self.total_cost)} {self.currency}")
        lines += [f"WARNING: {warning}" for warning in self.warnings]
        return "\n".join(lines)


def make_price(excl_vat: Decimal, incl_vat: Decimal | None) -> Price:
    """Build a Price without the dataclass __init__ (the engine's hot path; same object)."""
    price = _new(Price)
    _set_excl_vat(price, excl_vat)
    _set_incl_vat(price, incl_vat)
    return price


def make_result(values: dict[str, Any]) -> PricingResult:
    """Build a PricingResult from a dict of all its fields without the dataclass __init__.

    A frozen dataclass's __init__ sets each of its 15 fields through object.__setattr__, a tenth
    of a pricing's time; handing the instance its dict at once gives the same object.
    """
    result = _new(PricingResult)
    object.__setattr__(result, "__dict__", values)
    return result


def _fmt(value: Decimal) -> str:
    # Breakdown values are unrounded; six decimals is plenty to read them.
    return f"{value.quantize(_MICRO).normalize():f}"


_new = object.__new__
# Price has __slots__: its fields are set through their slot descriptors.
_set_excl_vat, _set_incl_vat = Price.excl_vat.__set__, Price.incl_vat.__set__


def _fmt_price(price: Price) -> str:
    incl = "n/a" if price.incl_vat is None else f"{price.incl_vat:f}"
    return f"{price.excl_vat:f} excl. VAT / {incl} incl. VAT"


def instant_us(moment: datetime) -> int:
    """Return an aware datetime as integer µs since the Unix epoch (exact, no float)."""
    return (moment - EPOCH) // ONE_US
