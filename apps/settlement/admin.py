"""Staff UI for settlement: disputes worked with a reason, statements approved and closed,
exported as CSV or a printable page, and the summary per partner per month."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from . import selectors, services
from .export import statement_csv
from .models import Dispute, Statement, StatementStatus
from .periods import period_parse

_PRINT_LIMIT = 2000  # CDR rows on the printable page; the CSV has them all


def _utc(value: Any) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def _amount(value: Any) -> str:
    return "" if value is None else f"{value:,.4f}"


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 70}),
        help_text="Kept in the dispute's history with your name; the partner sees it on the "
        "statement.",
    )


def _with_reason(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    title: str,
    action: str,
    apply: Any,
) -> HttpResponse | None:
    """An admin action that first asks why (an intermediate page), then applies the service."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        done = 0
        for obj in queryset:
            try:
                apply(obj, request.user, form.cleaned_data["reason"])
                done += 1
            except ValidationError as exc:
                modeladmin.message_user(request, f"{obj}: {' '.join(exc.messages)}", messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{title}: {done} done.", messages.SUCCESS)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "objects": queryset,
        "form": form,
        "action": action,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/settlement/reason_form.html", context)


@admin.register(Dispute)
class DisputeAdmin(SimpleHistoryAdmin):
    list_display = (
        "status_badge",
        "reason",
        "cdr_link",
        "counterparty",
        "currency",
        "partner_total",
        "our_total",
        "deviation",
        "opened",
    )
    list_filter = ("status", "reason", "currency")
    list_select_related = ("cdr", "cdr__owner")
    search_fields = ("cdr__cdr_id", "cdr__session_id", "note")
    actions = ("accept", "reject", "reopen")
    fields = (
        "status",
        "reason",
        "cdr_link",
        "findings_list",
        "comparison",
        "tariff_source",
        "breakdown",
        "credit_cdr",
        "note",
        "resolved_by",
        "resolved",
        "opened",
    )
    readonly_fields = fields
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Changes go through the actions (each with a reason), never through the form.
        return obj is None and super().has_change_permission(request, obj)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Dispute) -> str:
        colour = {"open": "#ba2121", "rejected": "#b36b00"}.get(obj.status, "#417505")
        return format_html('<strong style="color:{}">{}</strong>', colour, obj.get_status_display())

    @admin.display(description="CDR", ordering="cdr__cdr_id")
    def cdr_link(self, obj: Dispute) -> str:
        try:
            url = reverse("admin:cdrs_cdr_change", args=[obj.cdr_id])
        except Exception:  # the CDRs admin may not be registered
            return str(obj.cdr.cdr_id)
        return format_html('<a href="{}">{}</a>', url, obj.cdr.cdr_id)

    @admin.display(description="CPO")
    def counterparty(self, obj: Dispute) -> str:
        return f"{obj.cdr.country_code}*{obj.cdr.party_id}"

    @admin.display(description="partner's total (excl. VAT)")
    def partner_total(self, obj: Dispute) -> str:
        return _amount(obj.partner_total_excl_vat)

    @admin.display(description="our total (excl. VAT)")
    def our_total(self, obj: Dispute) -> str:
        return _amount(obj.our_total_excl_vat)

    @admin.display(description="deviation (excl. VAT)")
    def deviation(self, obj: Dispute) -> str:
        return _amount(obj.deviation_excl_vat)

    @admin.display(description="opened", ordering="opened_at")
    def opened(self, obj: Dispute) -> str:
        return _utc(obj.opened_at)

    @admin.display(description="resolved")
    def resolved(self, obj: Dispute) -> str:
        return _utc(obj.resolved_at)

    @admin.display(description="findings")
    def findings_list(self, obj: Dispute) -> str:
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li>{}</li>", ((f["message"],) for f in obj.findings)),
        )

    @admin.display(description="partner's figures beside ours")
    def comparison(self, obj: Dispute) -> str:
        if not obj.lines:
            return "(nothing priced)"
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    line["line"],
                    line["partner_excl_vat"] or "-",
                    line["partner_incl_vat"] or "-",
                    line["our_excl_vat"] or "-",
                    line["our_incl_vat"] or "-",
                )
                for line in obj.lines
            ),
        )
        return format_html(
            '<table class="dispute-lines"><thead><tr><th>{}</th><th>partner excl. VAT</th>'
            "<th>partner incl. VAT</th><th>ours excl. VAT</th><th>ours incl. VAT</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            obj.currency,
            rows,
        )

    @admin.display(description="how our engine priced it")
    def breakdown(self, obj: Dispute) -> str:
        return format_html("<pre>{}</pre>", obj.our_breakdown or "-")

    @admin.action(description="Accept: the CDR stands and is settled (asks why)")
    def accept(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return _with_reason(
            self,
            request,
            queryset,
            title="Accept disputed CDRs",
            action="accept",
            apply=lambda d, user, why: services.dispute_accept(dispute=d, by=user, reason=why),
        )

    @admin.action(description="Reject: the CDR is not paid until credited (asks why)")
    def reject(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return _with_reason(
            self,
            request,
            queryset,
            title="Reject disputed CDRs",
            action="reject",
            apply=lambda d, user, why: services.dispute_reject(dispute=d, by=user, reason=why),
        )

    @admin.action(description="Reopen (asks why)")
    def reopen(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return _with_reason(
            self,
            request,
            queryset,
            title="Reopen disputes",
            action="reopen",
            apply=lambda d, user, why: services.dispute_reopen(dispute=d, by=user, reason=why),
        )


class PeriodFilter(admin.SimpleListFilter):
    title = "period"
    parameter_name = "period"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        months = Statement.objects.order_by("-period_start").values_list("period_start", flat=True)
        return [(f"{m:%Y-%m}", f"{m:%Y-%m}") for m in dict.fromkeys(months)][:24]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        try:
            return queryset.filter(period_start=period_parse(self.value()))
        except ValueError:
            return queryset.none()


@admin.register(Statement)
class StatementAdmin(SimpleHistoryAdmin):
    list_display = (
        "status_badge",
        "period",
        "direction",
        "counterparty",
        "connection",
        "currency",
        "cdr_count",
        "energy",
        "excl_vat",
        "incl_vat",
        "held",
        "exports",
    )
    list_filter = ("status", "direction", PeriodFilter, "currency")
    list_select_related = ("connection",)
    search_fields = ("country_code", "party_id", "connection__name")
    actions = ("approve", "close", "rebuild")
    fields = (
        "status",
        "direction",
        "counterparty",
        "connection",
        "currency",
        "period",
        "cdr_count",
        "credit_count",
        "energy",
        "excl_vat",
        "incl_vat",
        "held",
        "net",
        "exports",
        "built",
    )
    readonly_fields = fields
    change_list_template = "admin/settlement/statement/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Statement) -> str:
        colour = {"draft": "#666", "approved": "#205067"}.get(obj.status, "#417505")
        return format_html('<strong style="color:{}">{}</strong>', colour, obj.get_status_display())

    @admin.display(description="period", ordering="period_start")
    def period(self, obj: Statement) -> str:
        return f"{obj.period_start:%Y-%m}"

    @admin.display(description="partner")
    def counterparty(self, obj: Statement) -> str:
        return obj.counterparty

    @admin.display(description="energy (kWh)", ordering="energy_kwh")
    def energy(self, obj: Statement) -> str:
        return _amount(obj.energy_kwh)

    @admin.display(description="total excl. VAT", ordering="total_excl_vat")
    def excl_vat(self, obj: Statement) -> str:
        return _amount(obj.total_excl_vat)

    @admin.display(description="total incl. VAT", ordering="total_incl_vat")
    def incl_vat(self, obj: Statement) -> str:
        return _amount(obj.total_incl_vat)

    @admin.display(description="held out", ordering="held_count")
    def held(self, obj: Statement) -> str:
        if not obj.held_count:
            return "0"
        return format_html(
            '<strong style="color:#ba2121">{} ({} excl. VAT)</strong>',
            obj.held_count,
            _amount(obj.held_excl_vat),
        )

    @admin.display(description="net with the other direction")
    def net(self, obj: Statement) -> str:
        other = selectors.statement_counterpart(statement=obj)
        if other is None:
            return "no statement in the other direction"
        mine = obj.total_excl_vat if obj.direction == "receivable" else -obj.total_excl_vat
        theirs = other.total_excl_vat if other.direction == "receivable" else -other.total_excl_vat
        net = mine + theirs
        who = "they owe us" if net >= 0 else "we owe them"
        return f"{_amount(abs(net))} {obj.currency} excl. VAT ({who})"

    @admin.display(description="built")
    def built(self, obj: Statement) -> str:
        return _utc(obj.built_at)

    @admin.display(description="export")
    def exports(self, obj: Statement) -> str:
        return format_html(
            '<a href="{}">CSV</a> · <a href="{}">printable</a>',
            reverse("admin:settlement_statement_csv", args=[obj.pk]),
            reverse("admin:settlement_statement_print", args=[obj.pk]),
        )

    def _move(self, request: HttpRequest, queryset: QuerySet, service: Any, verb: str) -> None:
        done = 0
        for statement in queryset:
            try:
                service(statement=statement, by=request.user, reason=f"by {request.user}")
                done += 1
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
        if done:
            self.message_user(request, f"{done} statements {verb}.", messages.SUCCESS)

    @admin.action(description="Approve selected drafts")
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(request, queryset, services.statement_approve, "approved")

    @admin.action(description="Close selected approved statements (final)")
    def close(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(request, queryset, services.statement_close, "closed")

    @admin.action(description="Rebuild selected drafts (idempotent)")
    def rebuild(self, request: HttpRequest, queryset: QuerySet) -> None:
        keys = {
            (s.period_start, (s.country_code, s.party_id))
            for s in queryset.filter(status=StatementStatus.DRAFT)
        }
        for period_start, counterparty in sorted(keys):
            services.statements_build(
                period_start=period_start, counterparty=counterparty, by=request.user
            )
        self.message_user(request, f"{len(keys)} partner periods rebuilt.", messages.SUCCESS)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("summary/", view(self.summary_view), name="settlement_statement_summary"),
            path("<int:pk>/csv/", view(self.csv_view), name="settlement_statement_csv"),
            path("<int:pk>/print/", view(self.print_view), name="settlement_statement_print"),
            *super().get_urls(),
        ]

    def csv_view(self, request: HttpRequest, pk: int) -> StreamingHttpResponse:
        statement = get_object_or_404(Statement, pk=pk)
        response = StreamingHttpResponse(
            statement_csv(statement=statement), content_type="text/csv; charset=utf-8"
        )
        name = (
            f"statement-{statement.direction}-{statement.country_code}{statement.party_id}-"
            f"{statement.period_start:%Y-%m}-{statement.currency}.csv"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def print_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        statement = get_object_or_404(Statement.objects.select_related("connection"), pk=pk)
        included = selectors.statement_lines(statement=statement, held=False)[:_PRINT_LIMIT]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Statement {statement}",
            "statement": statement,
            "counterpart": selectors.statement_counterpart(statement=statement),
            "included": included,
            "truncated": statement.cdr_count > _PRINT_LIMIT,
            "print_limit": _PRINT_LIMIT,
            "held": selectors.statement_lines(statement=statement, held=True),
        }
        return TemplateResponse(request, "admin/settlement/statement/print.html", context)

    def summary_view(self, request: HttpRequest) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Settlement per partner per month",
            "opts": self.model._meta,
            "rows": selectors.statement_summary(),
            "open_disputes": selectors.dispute_list_open().count(),
        }
        return TemplateResponse(request, "admin/settlement/statement/summary.html", context)
