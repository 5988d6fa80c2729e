"""Staff UI for parties and partner connections; every action goes through services."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from simple_history.admin import SimpleHistoryAdmin

from echargo.ocpi.registry import versions_url
from echargo.web.search import FoldedSearchMixin

from . import services
from .initial_sync import initial_sync_progress_for, initial_sync_start
from .models import AccessToken, OutboxMessage, PartnerConnection, Party, SyncState
from .outbox import outbox_retry_dead
from .publishing import initial_sync_modules


@admin.register(Party)
class PartyAdmin(FoldedSearchMixin, SimpleHistoryAdmin):
    list_display = ("__str__", "name", "role", "is_own", "connection", "last_updated")
    list_filter = ("is_own", "role", "country_code")
    list_select_related = ("connection",)
    search_fields = ("party_id", "country_code", "name")
    raw_id_fields = ("connection",)

    def has_delete_permission(self, request: HttpRequest, obj: Party | None = None) -> bool:
        # Our own parties sign every OCPI message we send and own our locations, tariffs and
        # tokens: deleting one (also through "Delete selected") would orphan all of it.
        if obj is not None and obj.is_own:
            return False
        return super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Party | None = None) -> tuple:
        # A partner's party is what it told us at registration: only our own are edited here.
        if obj is not None and not obj.is_own:
            return (
                "country_code",
                "party_id",
                "role",
                "name",
                "website",
                "logo",
                "is_own",
                "connection",
            )
        return ("connection",)


class AccessTokenInline(admin.TabularInline):
    model = AccessToken
    fields = ("kind", "created_at", "expires_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Tokens we issued (never shown: stored as keyed hash and encrypted)"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class PartyInline(admin.TabularInline):
    model = Party
    fields = ("country_code", "party_id", "role", "name")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class SyncStateInline(admin.TabularInline):
    model = SyncState
    fields = ("module", "last_run_at", "last_success_started_at", "last_counts", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Pulls from the partner (an incomplete pull says why in its error)"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def _module_choices() -> list[tuple[str, str]]:
    return [("", "Module…"), *((m, m) for m in initial_sync_modules())]


class ConnectionActionForm(ActionForm):
    module = forms.ChoiceField(
        choices=_module_choices,
        required=False,
        label="Module (for “Send everything again”)",
    )


class ConnectForm(forms.Form):
    name = forms.CharField(max_length=100)
    versions_url = forms.URLField(
        max_length=255, label="Partner's versions URL", assume_scheme="https"
    )
    token_a = forms.CharField(
        max_length=64,
        label="Token A from the partner",
        widget=forms.PasswordInput(render_value=False),
    )


class InviteForm(forms.Form):
    name = forms.CharField(max_length=100, label="Partner name")


@admin.register(PartnerConnection)
class PartnerConnectionAdmin(FoldedSearchMixin, SimpleHistoryAdmin):
    list_display = (
        "name",
        "status",
        "version",
        "party_list",
        "registered_at",
        "backlog",
        "dead_letters",
        "last_error_short",
    )
    list_filter = ("status", "version")
    search_fields = ("name", "versions_url", "parties__party_id")
    readonly_fields = (
        "status",
        "versions_url",
        "version",
        "endpoints",
        "registered_at",
        "last_error",
        "created_at",
        "updated_at",
        "token_held",
        "initial_syncs",
    )
    fields = ("name", "auth_encoding", *readonly_fields)
    inlines = (PartyInline, AccessTokenInline, SyncStateInline)
    action_form = ConnectionActionForm
    actions = ("update_credentials", "unregister", "suspend", "resume", "send_everything_again")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PartnerConnection]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related("parties")
            .annotate(
                backlog_count=Count(
                    "outbox", filter=Q(outbox__status__in=["pending", "delivering"])
                ),
                dead_count=Count("outbox", filter=Q(outbox__status="dead")),
            )
        )

    @admin.display(description="Push backlog", ordering="backlog_count")
    def backlog(self, obj: PartnerConnection) -> int:
        return obj.backlog_count

    @admin.display(description="Dead letters", ordering="dead_count")
    def dead_letters(self, obj: PartnerConnection) -> int:
        return obj.dead_count

    @admin.display(description="Parties")
    def party_list(self, obj: PartnerConnection) -> str:
        return ", ".join(str(p) for p in obj.parties.all())

    @admin.display(description="Last error")
    def last_error_short(self, obj: PartnerConnection) -> str:
        return obj.last_error[:80]

    @admin.display(description="Token to call the partner")
    def token_held(self, obj: PartnerConnection) -> str:
        return "held (encrypted)" if obj.outgoing_token_encrypted else "none"

    @admin.display(description="Initial syncs (our whole set, through the outbox)")
    def initial_syncs(self, obj: PartnerConnection) -> str:
        rows = initial_sync_progress_for(obj)
        if not rows:
            return "none yet"
        header = mark_safe(  # a constant
            "<tr><th>Module</th><th>Started (UTC)</th><th>Why</th><th>Status</th>"
            "<th>Queued</th><th>Delivered</th><th>Waiting</th><th>Superseded</th>"
            "<th>Dead</th></tr>"
        )
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    r["sync"].module,
                    f"{r['sync'].started_at:%Y-%m-%d %H:%M:%S}",
                    r["sync"].reason,
                    r["sync"].get_status_display(),
                    r["sync"].queued,
                    r["delivered"],
                    r["waiting"],
                    r["superseded"],
                    r["dead"],
                )
                for r in rows
            ),
        )
        return format_html("<table>{}{}</table>", header, body)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Connections are created by "Connect to a partner" or "Invite a partner".
        return False

    def get_urls(self) -> list:
        return [
            path(
                "connect/",
                self.admin_site.admin_view(self.connect_view),
                name="partners_partnerconnection_connect",
            ),
            path(
                "invite/",
                self.admin_site.admin_view(self.invite_view),
                name="partners_partnerconnection_invite",
            ),
            *super().get_urls(),
        ]

    def connect_view(self, request: HttpRequest) -> HttpResponse:
        form = ConnectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                connection = services.connection_register_with_partner(**form.cleaned_data)
            except services.RegistrationFailed as exc:
                self.message_user(request, f"Registration failed: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Connected to {connection}.", messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:partners_partnerconnection_change", args=[connection.pk])
                )
        return self._form_page(
            request,
            form,
            "Connect to a partner",
            "Connect",
            "Enter the versions URL and token A the partner gave you; echargo "
            "fetches its endpoints and registers with a fresh token.",
        )

    def invite_view(self, request: HttpRequest) -> HttpResponse:
        form = InviteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                connection, token_a = services.connection_invite(name=form.cleaned_data["name"])
            except services.OwnPartyMissing as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return self._invite_page(request, form)
            except services.ConnectionNameTaken as exc:
                form.add_error("name", str(exc))
                return self._invite_page(request, form)
            self.message_user(
                request,
                f"Hand these to {connection} over a secure channel. Versions URL: "
                f"{versions_url()} — token A (shown once): {token_a}",
                messages.WARNING,
            )
            return HttpResponseRedirect(
                reverse("admin:partners_partnerconnection_change", args=[connection.pk])
            )
        return self._invite_page(request, form)

    def _invite_page(self, request: HttpRequest, form: forms.Form) -> TemplateResponse:
        return self._form_page(
            request,
            form,
            "Invite a partner",
            "Create invitation",
            "Creates a pending connection and a one-time token A.",
        )

    def _form_page(
        self, request: HttpRequest, form: forms.Form, title: str, submit: str, help_text: str
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": title,
            "submit": submit,
            "help": help_text,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/partners/partnerconnection/form_page.html", context)

    def _run(self, request: HttpRequest, queryset: QuerySet, label: str, operation) -> None:
        for connection in queryset:
            try:
                operation(connection)
            except services.RegistrationFailed as exc:
                self.message_user(request, f"{connection}: {label} failed: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{connection}: {label} done.", messages.SUCCESS)

    @admin.action(description="Update credentials at the partner (PUT, rotates tokens)")
    def update_credentials(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(
            request,
            queryset,
            "update",
            lambda c: services.connection_update_with_partner(connection=c),
        )

    @admin.action(description="Unregister at the partner (DELETE) and revoke access")
    def unregister(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(
            request,
            queryset,
            "unregister",
            lambda c: services.connection_unregister_with_partner(connection=c, force=True),
        )

    @admin.action(description="Suspend (refuse the partner's token)")
    def suspend(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(
            request,
            queryset,
            "suspend",
            lambda c: services.connection_set_suspended(connection=c, suspended=True),
        )

    @admin.action(description="Resume a suspended connection")
    def resume(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(
            request,
            queryset,
            "resume",
            lambda c: services.connection_set_suspended(connection=c, suspended=False),
        )

    @admin.action(description="Send everything again (the module chosen beside the action)")
    def send_everything_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        module = request.POST.get("module", "")
        if module not in initial_sync_modules():
            self.message_user(request, "Choose the module to send again.", messages.ERROR)
            return
        for connection in queryset:
            try:
                with transaction.atomic():
                    initial_sync_start(
                        connection=connection,
                        module=module,
                        reason=f"sent again by {request.user}",
                    )
            except ValueError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{connection}: all our {module} are being queued; progress on its page.",
                    messages.SUCCESS,
                )


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "created_at",
        "connection",
        "module",
        "method",
        "object_key",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "last_http_status",
    )
    list_filter = ("status", "kind", "module", "method", "connection")
    list_select_related = ("connection",)
    search_fields = ("object_key", "path")
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ("retry",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Retry dead letters now")
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = outbox_retry_dead(message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} dead letter(s) queued again.", messages.SUCCESS)
