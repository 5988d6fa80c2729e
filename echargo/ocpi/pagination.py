"""Pagination of every OCPI list GET (OCPI 2.2.1 transport_and_format: pagination).

offset/limit with a server maximum announced as X-Limit, X-Total-Count, a Link to the next page
that repeats every filter, and date_from (inclusive) / date_to (exclusive) on last_updated.
Pages are ordered by (last_updated, pk) so the same URL gives the same objects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.request import Request

from . import headers as h
from .exceptions import InvalidParameters
from .fields import parse_ocpi_datetime


@dataclass(frozen=True)
class PageRequest:
    offset: int
    limit: int
    date_from: dt.datetime | None
    date_to: dt.datetime | None


# SQL OFFSET and LIMIT are bigint: a larger value would fail in the database, not answer 2001.
MAX_BIGINT = 2**63 - 1


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameters(f"{name} must be a non-negative integer.") from None
    if value < 0 or value > MAX_BIGINT:
        raise InvalidParameters(f"{name} must be a non-negative integer up to {MAX_BIGINT}.")
    return value


def _date_param(request: Request, name: str) -> dt.datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return parse_ocpi_datetime(raw)
    except ValueError:
        raise InvalidParameters(f"{name} is not an OCPI DateTime.") from None


def page_request(request: Request, *, max_limit: int | None = None) -> PageRequest:
    """Read offset, limit (capped at the server maximum), date_from and date_to; 2001 when bad."""
    max_limit = max_limit or settings.OCPI_MAX_PAGE_LIMIT
    limit = _int_param(request, "limit", max_limit)
    return PageRequest(
        offset=_int_param(request, "offset", 0),
        limit=min(limit, max_limit) if limit else max_limit,
        date_from=_date_param(request, "date_from"),
        date_to=_date_param(request, "date_to"),
    )


def filter_last_updated(
    queryset: QuerySet, page: PageRequest, field: str = "last_updated"
) -> QuerySet:
    """Apply date_from (inclusive) and date_to (exclusive) to a queryset."""
    if page.date_from is not None:
        queryset = queryset.filter(**{f"{field}__gte": page.date_from})
    if page.date_to is not None:
        queryset = queryset.filter(**{f"{field}__lt": page.date_to})
    return queryset


def page_headers(
    request: Request,
    page: PageRequest,
    total: int,
    max_limit: int | None = None,
    returned: int | None = None,
) -> dict[str, str]:
    """X-Total-Count, X-Limit and, unless this is the last page, Link rel="next"."""
    max_limit = max_limit or settings.OCPI_MAX_PAGE_LIMIT
    result = {h.TOTAL_COUNT: str(total), h.LIMIT: str(max_limit)}
    next_offset = page.offset + page.limit
    if next_offset < total and (returned is None or returned > 0):
        params = [(k, v) for k, v in request.query_params.items() if k not in ("offset", "limit")]
        params += [("offset", str(next_offset)), ("limit", str(page.limit))]
        url = request.build_absolute_uri(request.path) + "?" + urlencode(params)
        result[h.LINK] = f'<{url}>; rel="next"'
    return result


def paginate_queryset(
    request: Request,
    queryset: QuerySet,
    *,
    render: Callable[[Sequence[Any]], list[Any]],
    max_limit: int | None = None,
) -> tuple[list[Any], dict[str, str]]:
    """Filter, count and slice a queryset with a last_updated field; render the page.

    The page's primary keys are picked first on the narrow (last_updated, pk) ordering so the
    cost does not depend on how heavy the rendered rows are.
    """
    page = page_request(request, max_limit=max_limit)
    queryset = filter_last_updated(queryset, page)
    total = queryset.count()
    ids = list(
        queryset.order_by("last_updated", "pk").values_list("pk", flat=True)[
            page.offset : page.offset + page.limit
        ]
    )
    rows = {row.pk: row for row in queryset.filter(pk__in=ids)} if ids else {}
    data = render([rows[pk] for pk in ids if pk in rows])
    return data, page_headers(request, page, total, max_limit, returned=len(data))
