"""Our chargers, registered through the service (password hashed, connectors mapped)."""

from __future__ import annotations

import itertools

from apps.chargers.models import Charger
from apps.chargers.services import charger_register
from apps.locations.models import Location

PASSWORD = "charger-secret-0123456789"
_numbers = itertools.count(1)


def own_charger(
    location: Location, *, charge_point_id: str | None = None, lenient: bool = False, **kw
) -> Charger:
    """A charger at one of our locations; OCPP connector n -> the location's n-th EVSE."""
    mapping = [
        (number, evse, evse.connectors.order_by("position", "pk").first())
        for number, evse in enumerate(location.evses.order_by("position", "pk"), start=1)
    ]
    return charger_register(
        charge_point_id=charge_point_id or f"CP-{next(_numbers):04d}",
        password=kw.pop("password", PASSWORD),
        location=location,
        lenient=lenient,
        connectors=mapping,
    )
