"""OCPI 2.2.1 tariff pricing engine: what a Tariff yields for a session's charging periods.

The public API is what this module names; its rooms: types.py (value types), compile.py (an
OCPI Tariff validated and compiled once into tariff.py's structures), clock.py (local wall-clock
arithmetic), engine.py (the pricing loop), totals.py (CDR totals of the priced lines).

Pure Python and Decimal, no Django models. The rules are those of OCPI 2.2.1 mod_tariffs and
mod_cdrs (release-2.2.1-bugfixes), as summarised in the project's OCPI digest, section 3.4 ("How
to evaluate a Tariff", "step_size rules"):

1. Periods are cut wherever a restriction can change state inside them: local times of day and
   midnights (DST aware), duration thresholds, kWh thresholds. Volumes are shared out in
   proportion to wall-clock time (energy is assumed linear in time within a period).
2. Per piece and per dimension, the first element (list order) that has a component of that
   dimension and whose restrictions all hold prices it. Reservation periods (RESERVATION_TIME
   only) are priced by RESERVATION elements, or RESERVATION_EXPIRES ones first when no session
   followed; all other periods by the elements without a reservation restriction.
3. FLAT is billed once per session (and once for the reservation).
4. step_size rounds a session total once: ENERGY with the last priced energy component; TIME and
   PARKING_TIME together, i.e. the parking total when parking is priced, else the charging time
   total, with the last priced component of that dimension; the surplus is billed at the price
   of that last priced period.
5. Each CDR total is quantized to 4 decimals (ROUND_HALF_UP) once; total_cost is their sum,
   clamped by min_price/max_price, excl. and incl. VAT independently.

Choices where the spec is silent are commented where they are made (search "treated as met",
"once per session", "wraps past midnight").
"""

from .compile import compile_tariff
from .engine import price_periods, price_session
from .tariff import CompiledTariff
from .types import (
    BreakdownLine,
    ChargingPeriodInput,
    Price,
    PricingError,
    PricingResult,
    TariffError,
)

__all__ = [
    "BreakdownLine",
    "ChargingPeriodInput",
    "CompiledTariff",
    "Price",
    "PricingError",
    "PricingResult",
    "TariffError",
    "compile_tariff",
    "price_periods",
    "price_session",
]
