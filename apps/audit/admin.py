"""Staff browse every OCPI exchange and business event; nothing here is editable."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import AuditEvent, OcpiExchange


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OcpiExchange)
class OcpiExchangeAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "direction",
        "connection",
        "module",
        "method",
        "short_url",
        "http_status",
        "ocpi_status_code",
        "duration_ms",
    )
    list_filter = (
        "direction",
        "module",
        "http_status",
        "ocpi_status_code",
        "connection",
        ("created_at", admin.DateFieldListFilter),
    )
    list_select_related = ("connection",)
    search_fields = ("=request_id", "=correlation_id", "url")
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="URL")
    def short_url(self, obj: OcpiExchange) -> str:
        return obj.url if len(obj.url) <= 80 else obj.url[:77] + "..."


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "verb", "connection", "object_type", "object_key", "message")
    list_filter = ("verb", "object_type", "connection")
    list_select_related = ("connection",)
    search_fields = ("object_key", "message")
    date_hierarchy = "created_at"
