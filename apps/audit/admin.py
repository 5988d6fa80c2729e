"""Staff browse every OCPI exchange and business event; nothing here is editable."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlsplit

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from .models import AuditEvent, OcpiExchange


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def utc_with_zone(moment: dt.datetime | None) -> str:
    """A time as staff compare it with partners' logs: to the second, with its zone."""
    if moment is None:
        return "-"
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def pretty_body(body: str) -> str:
    """A logged body indented when it is JSON; as it was otherwise (cut or not JSON)."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body


@admin.register(OcpiExchange)
class OcpiExchangeAdmin(ReadOnlyAdmin):
    # The columns that decide first, narrow enough for a 1,440 px screen.
    list_display = (
        "time",
        "connection",
        "arrow",
        "method",
        "short_path",
        "http",
        "ocpi",
        "duration",
    )
    list_display_links = ("time",)
    list_filter = (
        "direction",
        "module",
        "http_status",
        "ocpi_status_code",
        "connection",
        ("created_at", admin.DateFieldListFilter),
    )
    list_select_related = ("connection",)
    search_fields = ("=request_id", "=correlation_id", "url", "connection__name")
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = (
        "time",
        "direction",
        "connection",
        "module",
        "method",
        "url",
        "http_status",
        "ocpi_status_code",
        "duration_ms",
        "request_id",
        "correlation_id",
        "error",
        "request",
        "response",
    )
    readonly_fields = ("time", "request", "response")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.isdigit() and len(term) <= 4:
            # "500" or "2001": the HTTP or OCPI status staff were told about.
            code = int(term)
            found = found | queryset.filter(Q(http_status=code) | Q(ocpi_status_code=code))
        return found, duplicates

    @admin.display(description="Time (UTC)", ordering="created_at")
    def time(self, obj: OcpiExchange) -> str:
        return utc_with_zone(obj.created_at)

    @admin.display(description="Dir.", ordering="direction")
    def arrow(self, obj: OcpiExchange) -> str:
        return "in" if obj.direction == OcpiExchange.Direction.INBOUND else "out"

    @admin.display(description="Path")
    def short_path(self, obj: OcpiExchange) -> str:
        path = urlsplit(obj.url).path or obj.url
        return path if len(path) <= 48 else "..." + path[-45:]

    @admin.display(description="HTTP", ordering="http_status")
    def http(self, obj: OcpiExchange) -> str:
        return self._marked(obj, "-" if obj.http_status is None else str(obj.http_status))

    @admin.display(description="OCPI", ordering="ocpi_status_code")
    def ocpi(self, obj: OcpiExchange) -> str:
        code = obj.ocpi_status_code
        return self._marked(obj, "-" if code is None else str(code))

    @admin.display(description="Duration (ms)", ordering="duration_ms")
    def duration(self, obj: OcpiExchange) -> str:
        return f"{obj.duration_ms:.0f}"

    @admin.display(description="Request body")
    def request(self, obj: OcpiExchange) -> str:
        return format_html('<pre class="exchange-body">{}</pre>', pretty_body(obj.request_body))

    @admin.display(description="Response body")
    def response(self, obj: OcpiExchange) -> str:
        return format_html('<pre class="exchange-body">{}</pre>', pretty_body(obj.response_body))

    @staticmethod
    def _marked(obj: OcpiExchange, text: str) -> str:
        if obj.succeeded:
            return text
        return format_html('<strong class="errornote exchange-failed">{}</strong>', text)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "verb", "connection", "object_type", "object_key", "message")
    list_filter = ("verb", "object_type", "connection")
    list_select_related = ("connection",)
    search_fields = ("object_key", "message")
    date_hierarchy = "created_at"
