"""Staff UI for charging sessions: a read-only record (sessions change through charger events)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from .models import Session


def when(value: dt.datetime | None) -> str:
    return "-" if value is None else f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


@admin.register(Session)
class SessionAdmin(SimpleHistoryAdmin):
    list_display = ("status", "review", "started", "ended", "kwh", "cost", "evse_uid",
                    "token_uid", "auth_method", "stop_reason")  # fmt: skip
    list_filter = ("status", "needs_review", "auth_method", "charging_state")
    search_fields = ("=session_id", "token_uid", "token_contract_id", "evse_uid", "location_id")
    list_select_related = ("owner",)
    date_hierarchy = "start_date_time"
    exclude = ("charging_periods", "flags", "tariff_json", "token")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [f.name for f in Session._meta.fields if f.name not in self.exclude]
        return [*fields, "periods", "notes"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="review", boolean=True, ordering="needs_review")
    def review(self, obj: Session) -> bool:
        return obj.needs_review

    @admin.display(description="start (UTC)", ordering="start_date_time")
    def started(self, obj: Session) -> str:
        return when(obj.start_date_time)

    @admin.display(description="end (UTC)", ordering="end_date_time")
    def ended(self, obj: Session) -> str:
        return when(obj.end_date_time)

    @admin.display(description="total cost excl. VAT")
    def cost(self, obj: Session) -> str:
        if obj.total_cost_excl_vat is None:
            return "-"
        return f"{obj.total_cost_excl_vat} {obj.currency}"

    @admin.display(description="charging periods")
    def periods(self, obj: Session) -> str:
        rows = (
            (
                p["start_date_time"],
                ", ".join(f"{d['type']} {d['volume']}" for d in p["dimensions"]),
                p.get("tariff_id", "-"),
            )
            for p in obj.charging_periods
        )
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table><tr><th>start (UTC)</th><th>volumes (kWh, h)</th><th>tariff</th></tr>{}"
            "</table>",
            body,
        )

    @admin.display(description="notes for staff")
    def notes(self, obj: Session) -> str:
        return format_html_join("", "<p>{}: {}</p>", ((f["at"], f["note"]) for f in obj.flags))
