"""Staff UI for charging sessions: a read-only record. Ours change through charger events,
partners' (our drivers roaming at a partner's station) through the CPO's pushes and our pulls;
both keep their history, and a list filter tells the sides apart."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from .models import Session


def when(value: dt.datetime | None, zone: str = "") -> str:
    """UTC, and the station's local time when its zone is known."""
    if value is None:
        return "-"
    utc = f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
    try:
        local = value.astimezone(ZoneInfo(zone)) if zone else None
    except (ZoneInfoNotFoundError, ValueError):
        local = None
    return utc if local is None else f"{utc} ({local:%H:%M} {zone})"


class SideFilter(admin.SimpleListFilter):
    title = "side"
    parameter_name = "side"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (
            ("roaming", "Our drivers at partners' stations"),
            ("visitors", "Partners' drivers at our stations"),
            ("home", "Our drivers at our stations"),
        )

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        ours = Q(owner__is_own=True)
        our_driver = Q(token__isnull=False) | Q(token_party_id__in=_our_emsp_party_ids())
        if self.value() == "roaming":
            return queryset.filter(~ours)
        if self.value() == "visitors":
            return queryset.filter(ours).exclude(our_driver)
        if self.value() == "home":
            return queryset.filter(ours).filter(our_driver)
        return queryset


def _our_emsp_party_ids() -> list[str]:
    from apps.partners.models import Party, Role

    return list(
        Party.objects.filter(is_own=True, role=Role.EMSP).values_list("party_id", flat=True)
    )


@admin.register(Session)
class SessionAdmin(SimpleHistoryAdmin):
    list_display = ("status", "review", "started", "ended", "kwh", "cost", "operator",
                    "location_id", "evse_uid", "token_uid", "auth_method")  # fmt: skip
    list_filter = (SideFilter, "status", "needs_review", "auth_method", "charging_state")
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

    @admin.display(description="start", ordering="start_date_time")
    def started(self, obj: Session) -> str:
        return when(obj.start_date_time, obj.time_zone)

    @admin.display(description="end", ordering="end_date_time")
    def ended(self, obj: Session) -> str:
        return when(obj.end_date_time, obj.time_zone)

    @admin.display(description="station operator", ordering="owner")
    def operator(self, obj: Session) -> str:
        if obj.owner.is_own:
            return "us"
        return f"{obj.country_code}*{obj.party_id}"

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
