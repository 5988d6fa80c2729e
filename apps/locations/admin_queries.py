"""Reads for the staff UI: EVSE status counts per location (one query) and map points."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from .models import Location, Status

# Map colours by what a driver would want to know first.
AVAILABLE, BUSY, DOWN, UNKNOWN = "available", "busy", "down", "unknown"
_BUSY = (Status.CHARGING, Status.BLOCKED, Status.RESERVED)
_DOWN = (Status.OUTOFORDER, Status.INOPERATIVE)


def status_field(status: str) -> str:
    return f"evses_{status.lower()}"


def with_status_counts(queryset: QuerySet[Location]) -> QuerySet[Location]:
    """Annotate evses_<status> counts (one aggregate per status, no query per row)."""
    return queryset.annotate(
        **{
            status_field(status): Count("evses", filter=Q(evses__status=status))
            for status in Status.values
        }
    )


def status_counts(location: Location) -> dict[str, int]:
    """{status: count} of an annotated location, only statuses it has."""
    counts = {status: getattr(location, status_field(status), 0) for status in Status.values}
    return {status: n for status, n in counts.items() if n}


def map_state(counts: dict[str, int]) -> str:
    """One colour for a location: any EVSE available, else busy, else down, else unknown."""
    if counts.get(Status.AVAILABLE):
        return AVAILABLE
    if any(counts.get(s) for s in _BUSY):
        return BUSY
    if any(counts.get(s) for s in _DOWN):
        return DOWN
    return UNKNOWN


def map_points(queryset: QuerySet[Location] | None = None) -> list[dict[str, Any]]:
    """Our and partners' locations as map points with their status colour."""
    queryset = queryset if queryset is not None else Location.objects.all()
    points = []
    for location in with_status_counts(queryset.select_related("owner")).order_by("pk"):
        counts = status_counts(location)
        points.append(
            {
                "name": location.name or location.location_id,
                "key": f"{location.country_code}*{location.party_id} {location.location_id}",
                "lat": float(location.latitude),
                "lon": float(location.longitude),
                "own": location.owner.is_own,
                "state": map_state(counts),
                "counts": counts,
                "url": reverse("admin:locations_location_change", args=[location.pk]),
            }
        )
    return points
