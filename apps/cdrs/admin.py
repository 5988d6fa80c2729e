"""Staff UI for CDRs: ours and partners', read-only (CDRs are immutable), the priced breakdown
as readable lines with units, filters by direction, partner and period, and the correction
actions (credit CDR, optionally a re-priced replacement), sent as each partner wants."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from apps.partners.models import PartnerConnection, Role

from . import services
from .models import PRICE_FIELDS, Cdr, CdrPartnerPolicy, Direction

PRICE_LABELS = {
    "total_fixed_cost": "Fixed (start fee)",
    "total_energy_cost": "Energy",
    "total_time_cost": "Charging time",
    "total_parking_cost": "Parking",
    "total_reservation_cost": "Reservation",
    "total_cost": "Total",
}
UNITS = {"ENERGY": "kWh", "TIME": "h", "PARKING_TIME": "h", "RESERVATION_TIME": "h"}
UNITS.update({"MAX_CURRENT": "A", "MIN_CURRENT": "A", "MAX_POWER": "kW", "MIN_POWER": "kW"})
DIMENSION_LABELS = {
    "ENERGY": "energy",
    "TIME": "charging time",
    "PARKING_TIME": "parking time",
    "RESERVATION_TIME": "reservation time",
    "MAX_CURRENT": "max current",
    "MIN_CURRENT": "min current",
    "MAX_POWER": "max power",
    "MIN_POWER": "min power",
}
# Turkish letters whose case pairs differ from ASCII's: İ/i and I/ı.
_TURKISH_I = ("i", "ı", "İ", "I")


def turkish_variants(term: str) -> list[str]:
    """The search term with every i-like letter as each of i, ı, İ, I (so "isik" finds
    "IŞIK" and "Işık"; the database's own case folding does the rest)."""
    if not any(ch in term for ch in _TURKISH_I):
        return [term]
    return sorted({"".join(v if ch in _TURKISH_I else ch for ch in term) for v in _TURKISH_I})


def _num(value: Decimal | None) -> str:
    if value is None:
        return "-"
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"


class DirectionFilter(admin.SimpleListFilter):
    title = "direction"
    parameter_name = "direction"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(Direction.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == Direction.OURS:
            return queryset.filter(received_from__isnull=True)
        if self.value() == Direction.PARTNERS:
            return queryset.filter(received_from__isnull=False)
        return queryset


class PartnerFilter(admin.SimpleListFilter):
    """The partner a CDR is exchanged with: the CPO that sent it, or the eMSP of the driver."""

    title = "partner"
    parameter_name = "partner"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(c.pk), c.name) for c in PartnerConnection.objects.order_by("name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value() or not self.value().isdigit():
            return queryset
        connection = PartnerConnection.objects.filter(pk=int(self.value())).first()
        if connection is None:
            return queryset.none()
        match = Q(received_from=connection)
        for cc, pid in connection.parties.filter(role=Role.EMSP).values_list(
            "country_code", "party_id"
        ):
            match |= Q(received_from__isnull=True, token_country_code=cc, token_party_id=pid)
        return queryset.filter(match)


@admin.register(Cdr)
class CdrAdmin(SimpleHistoryAdmin):
    list_display = (
        "cdr_id",
        "direction_label",
        "delivery",
        "counterpart",
        "start_date_time",
        "energy_kwh",
        "cost",
        "credit",
        "location_id",
    )
    list_filter = (DirectionFilter, PartnerFilter, "credit", "start_date_time", "currency")
    date_hierarchy = "start_date_time"
    list_select_related = ("received_from", "owner")
    search_fields = ("cdr_key", "session_id", "token_uid", "token_contract_id", "location_name")
    actions = ("credit_only", "credit_and_replace")
    show_full_result_count = False
    fieldsets = (
        (
            "CDR",
            {
                "fields": (
                    "cdr_id",
                    "owner",
                    "direction_label",
                    "received_from",
                    "received_at",
                    "location_header",
                    "session_id",
                    "charging_session",
                    "start_date_time",
                    "end_date_time",
                    "last_updated",
                    "credit",
                    "credit_reference_id",
                    "invoice_reference_id",
                    "remark",
                    "home_charging_compensation",
                )
            },
        ),
        (
            "Driver token",
            {
                "fields": (
                    "token_uid",
                    "token_type",
                    "token_contract_id",
                    "token_country_code",
                    "token_party_id",
                    "token",
                    "auth_method",
                    "authorization_reference",
                )
            },
        ),
        (
            "Where",
            {
                "fields": (
                    "location_id",
                    "location_name",
                    "location_address",
                    "location_postal_code",
                    "location_city",
                    "location_state",
                    "location_country",
                    "coordinates",
                    "evse_uid",
                    "evse_id",
                    "connector_id",
                    "connector_standard",
                    "connector_format",
                    "connector_power_type",
                    "meter_id",
                )
            },
        ),
        (
            "Priced breakdown",
            {
                "fields": (
                    "volumes",
                    "breakdown",
                    "periods",
                    "tariff_list",
                    "signed",
                )
            },
        ),
    )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        # Turkish İ/ı: search every i-variant of the term (ids are upper-case keys).
        results, dupes = None, False
        for term in turkish_variants(search_term):
            found, maybe = super().get_search_results(request, queryset, term)
            upper, _ = super().get_search_results(request, queryset, term.upper())
            found = found | upper
            results = found if results is None else results | found
            dupes = dupes or maybe
        return (results if results is not None else queryset), dupes

    def get_readonly_fields(self, request: HttpRequest, obj: Cdr | None = None) -> tuple:
        return tuple(f for _, opts in self.fieldsets for f in opts["fields"])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # CDRs come from sessions and partners only

    def has_delete_permission(self, request: HttpRequest, obj: Cdr | None = None) -> bool:
        return False  # immutable: a correction is a credit CDR

    @admin.display(description="direction")
    def direction_label(self, obj: Cdr) -> str:
        return Direction(obj.direction).label

    @admin.display(description="delivered")
    def delivery(self, obj: Cdr) -> str:
        if obj.received_from_id:
            return "received"
        return "acknowledged" if obj.location_header else "not yet / own driver"

    @admin.display(description="partner")
    def counterpart(self, obj: Cdr) -> str:
        if obj.received_from_id:
            return str(obj.received_from)
        return f"{obj.token_country_code}*{obj.token_party_id}"

    @admin.display(description="energy (kWh)")
    def energy_kwh(self, obj: Cdr) -> str:
        return _num(obj.total_energy)

    @admin.display(description="total cost excl. / incl. VAT")
    def cost(self, obj: Cdr) -> str:
        return f"{_num(obj.total_cost_excl_vat)} / {_num(obj.total_cost_incl_vat)} {obj.currency}"

    @admin.display(description="coordinates")
    def coordinates(self, obj: Cdr) -> str:
        where = (obj.cdr_location or {}).get("coordinates") or {}
        return f"{where.get('latitude', '-')}, {where.get('longitude', '-')}"

    @admin.display(description="volumes")
    def volumes(self, obj: Cdr) -> str:
        return (
            f"energy {_num(obj.total_energy)} kWh; time {_num(obj.total_time)} h, of which "
            f"parking {_num(obj.total_parking_time)} h"
        )

    @admin.display(description="costs (excl. VAT / incl. VAT)")
    def breakdown(self, obj: Cdr) -> str:
        rows = [
            (
                PRICE_LABELS[name],
                _num(getattr(obj, f"{name}_excl_vat")),
                _num(getattr(obj, f"{name}_incl_vat")),
                obj.currency,
            )
            for name in (*PRICE_FIELDS[1:], PRICE_FIELDS[0])
        ]
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.display(description="charging periods (UTC)")
    def periods(self, obj: Cdr) -> str:
        rows = [
            (
                p["start_date_time"].replace("T", " ").replace("Z", " UTC"),
                ", ".join(
                    f"{DIMENSION_LABELS.get(d['type'], d['type'])} {d['volume']} "
                    f"{UNITS.get(d['type'], '')}".strip()
                    for d in p["dimensions"]
                ),
                p.get("tariff_id", "-"),
            )
            for p in obj.charging_periods
        ]
        return format_html(
            "<table><tr><th>from</th><th>volumes</th><th>tariff</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.display(description="tariffs carried")
    def tariff_list(self, obj: Cdr) -> str:
        return (
            ", ".join(
                f"{t.get('id')} ({t.get('currency')}, {len(t.get('elements') or [])} elements)"
                for t in obj.tariffs
            )
            or "none"
        )

    @admin.display(description="signed meter data")
    def signed(self, obj: Cdr) -> str:
        if not obj.signed_data:
            return "none"
        values = obj.signed_data.get("signed_values") or []
        return f"{obj.signed_data.get('encoding_method')}: {len(values)} signed values"

    def _correct(self, request: HttpRequest, queryset: QuerySet, *, replace: bool) -> None:
        done = 0
        for cdr in queryset:
            try:
                services.cdr_correct(
                    cdr=cdr, replace=replace, reason=f"Issued by {request.user} in the admin"
                )
                done += 1
            except services.CdrError as exc:
                self.message_user(request, f"{cdr.cdr_id}: {exc}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} CDR(s) corrected; delivery queued.")

    @admin.action(description="Issue a credit CDR (and send it)")
    def credit_only(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._correct(request, queryset, replace=False)

    @admin.action(description="Issue a credit CDR and a re-priced replacement (and send them)")
    def credit_and_replace(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._correct(request, queryset, replace=True)


@admin.register(CdrPartnerPolicy)
class CdrPartnerPolicyAdmin(SimpleHistoryAdmin):
    list_display = ("connection", "correction")
    list_filter = ("correction",)
