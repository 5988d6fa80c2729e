"""Reads of locations: what our CPO sender serves to whom, pages, and partners' stored copies."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse

from apps.partners.models import PartnerConnection, Party, Role
from apps.partners.selectors import connection_party
from echargo.ocpi.pagination import PageRequest, filter_last_updated
from echargo.ocpi.routing import ci

from .models import EVSE, Location, Status


def location_own_cpos() -> QuerySet[Party]:
    return Party.objects.filter(is_own=True, role=Role.CPO)


def location_partner_cpo(
    connection: PartnerConnection, country_code: str, party_id: str
) -> Party | None:
    """The CPO party (country_code, party_id) carried by this connection, if it is one."""
    return connection_party(
        connection=connection, country_code=country_code, party_id=party_id, role=Role.CPO
    )


def location_sender_list(
    *, connection_id: int, to_party: tuple[str, str] | None = None
) -> QuerySet[Location]:
    """Our own CPO parties' locations a partner may see: published ones, and unpublished ones
    whose publish_allowed_to names one of its parties. `to_party` narrows to one of our CPOs
    (OCPI-to-* headers, for a platform hosting several)."""
    queryset = Location.objects.filter(own_cpo=True)
    if to_party is not None:
        queryset = queryset.filter(country_code=ci(to_party[0]), party_id=ci(to_party[1]))
    allowed = Location.visible_to.through.objects.filter(party__connection_id=connection_id)
    return queryset.filter(Q(publish=True) | Q(pk__in=allowed.values("location_id")))


def location_page(queryset: QuerySet[Location], page: PageRequest) -> tuple[list[str], int]:
    """One page of stored OCPI documents of any location queryset, and the total count."""
    queryset = filter_last_updated(queryset, page)
    total = queryset.count()
    if page.offset >= total or page.limit == 0:
        return [], total
    ids = queryset.order_by("last_updated", "pk").values("pk")[
        page.offset : page.offset + page.limit
    ]
    documents = list(
        Location.objects.filter(pk__in=ids)
        .order_by("last_updated", "pk")
        .values_list("ocpi_json", flat=True)
    )
    return documents, total


def _sender_sql(
    connection_id: int, page: PageRequest, to_party: tuple[str, str] | None
) -> tuple[str, dict[str, Any]]:
    """FROM/WHERE of location_sender_list() in SQL: the same rows (a test holds them equal)."""
    params: dict[str, Any] = {"connection_id": connection_id}
    where = ""
    # Dates go in as the ORM would send them: SQLite (the demo) compares them as text, and an
    # aware datetime's "+00:00" text sorts after the stored value of the same instant.
    adapt = connection.ops.adapt_datetimefield_value
    if page.date_from is not None:
        where += " AND l.last_updated >= %(date_from)s"
        params["date_from"] = adapt(page.date_from)
    if page.date_to is not None:
        where += " AND l.last_updated < %(date_to)s"
        params["date_to"] = adapt(page.date_to)
    if to_party is not None:
        where += " AND l.country_code = %(country_code)s AND l.party_id = %(party_id)s"
        params.update(country_code=ci(to_party[0]), party_id=ci(to_party[1]))
    visible_to = Location.visible_to.through._meta.db_table
    # Only table names from model metadata are formatted in; every value is a parameter.
    sql = (
        f"FROM {Location._meta.db_table} l WHERE l.own_cpo AND (l.publish OR l.id IN ("  # noqa: S608
        f"SELECT v.location_id FROM {visible_to} v JOIN {Party._meta.db_table} p "
        f"ON p.id = v.party_id WHERE p.connection_id = %(connection_id)s)){where}"
    )
    return sql, params


def location_sender_page(
    *, connection_id: int, page: PageRequest, to_party: tuple[str, str] | None = None
) -> tuple[list[str], int]:
    """A page of location_sender_list() documents and their total: two queries at any offset.

    The page's ids are picked on the narrow partial (last_updated, id) index, then only those
    rows' documents are read, already rendered. Hand-written SQL: building and compiling the
    nested ORM queries cost more than running them, on the busiest endpoint partners call.
    """
    sql, params = _sender_sql(connection_id, page, to_party)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) {sql}", params)
        total = cursor.fetchone()[0]
        if page.offset >= total or page.limit == 0:
            return [], total
        cursor.execute(
            f"SELECT d.ocpi_json FROM {Location._meta.db_table} d WHERE d.id IN "  # noqa: S608
            f"(SELECT l.id {sql} ORDER BY l.last_updated, l.id "
            "LIMIT %(limit)s OFFSET %(offset)s) ORDER BY d.last_updated, d.id",
            {**params, "limit": page.limit, "offset": page.offset},
        )
        return [row[0] for row in cursor.fetchall()], total


def location_sender_object(
    *, connection_id: int, location_id: str, to_party: tuple[str, str] | None = None
) -> Location | None:
    """One of our locations by OCPI id, if this partner may see it (its document only)."""
    return (
        location_sender_list(connection_id=connection_id, to_party=to_party)
        .filter(location_key=ci(location_id))
        .only("pk", "ocpi_json")
        .order_by("pk")
        .first()
    )


def location_of_owner(*, owner: Party, location_id: str) -> Location | None:
    """One location of a party by OCPI id (case-insensitive), as we store it."""
    return Location.objects.filter(
        country_code=owner.country_code, party_id=owner.party_id, location_key=ci(location_id)
    ).first()


def location_with_children(queryset: QuerySet[Location]) -> QuerySet[Location]:
    """Locations with their EVSEs and connectors prefetched (for rendering)."""
    return queryset.prefetch_related(
        Prefetch("evses", queryset=EVSE.objects.prefetch_related("connectors"))
    )


def location_locked(country_code: str, party_id: str, location_id: str) -> Location | None:
    """The location with this OCPI key, locked for the rest of the transaction."""
    return (
        location_with_children(Location.objects.select_for_update())
        .filter(country_code=ci(country_code), party_id=ci(party_id), location_key=ci(location_id))
        .first()
    )


# --- Reads for the staff UI: EVSE status counts per location (one query), map points ----------

# Map colours by what a driver would want to know first.
AVAILABLE, BUSY, DOWN, UNKNOWN = "available", "busy", "down", "unknown"
_BUSY = (Status.CHARGING, Status.BLOCKED, Status.RESERVED)
_DOWN = (Status.OUTOFORDER, Status.INOPERATIVE)


def status_field(status: str) -> str:
    return f"evses_{status.lower()}"


def location_with_status_counts(queryset: QuerySet[Location]) -> QuerySet[Location]:
    """Annotate evses_<status> counts (one aggregate per status, no query per row)."""
    return queryset.annotate(
        **{
            status_field(status): Count("evses", filter=Q(evses__status=status))
            for status in Status.values
        }
    )


def location_status_counts(location: Location) -> dict[str, int]:
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


def location_map_points(queryset: QuerySet[Location] | None = None) -> list[dict[str, Any]]:
    """Our and partners' locations as map points with their status colour."""
    queryset = queryset if queryset is not None else Location.objects.all()
    points = []
    for location in location_with_status_counts(queryset.select_related("owner")).order_by("pk"):
        counts = location_status_counts(location)
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
