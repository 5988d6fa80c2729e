"""Staff UI for OCPI commands: the commands we sent (with a page to send one to a partner's
EVSE, and actions on partners' EVSEs and our drivers' sessions there), the commands partners
sent to our stations, and the reservations they hold."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from rest_framework.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from apps.locations.models import EVSE
from apps.sessions.models import Session
from apps.tokens.models import Token

from . import services
from .models import Command, CommandState, CommandType, ReceivedCommand, Reservation

FAILED_STATES = (CommandState.REFUSED, CommandState.UNREACHABLE, CommandState.TIMED_OUT)


def when(value: dt.datetime | None) -> str:
    return "-" if value is None else f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


def _error_text(exc: ValidationError) -> str:
    detail = exc.detail
    if isinstance(detail, list):
        return " ".join(str(d) for d in detail)
    return str(detail)


def _outcome(state_label: str, failed: bool) -> str:
    if failed:
        return format_html('<strong style="color:#ba2121">{}</strong>', state_label)
    return state_label


class SendCommandForm(forms.Form):
    command = forms.ChoiceField(
        choices=[
            (CommandType.START_SESSION, "Start a session"),
            (CommandType.UNLOCK_CONNECTOR, "Unlock a connector"),
            (CommandType.RESERVE_NOW, "Reserve the EVSE"),
        ]
    )
    evse = forms.ModelChoiceField(
        EVSE.objects.filter(location__owner__is_own=False).select_related("location"),
        label="EVSE (a partner's)",
    )
    token = forms.ModelChoiceField(
        Token.objects.filter(owner__is_own=True, valid=True),
        required=False,
        label="driver's token (ours)",
        help_text="For a start or a reservation.",
    )
    connector_id = forms.CharField(
        required=False, max_length=36, help_text="For an unlock: the connector's id, e.g. 1."
    )
    minutes = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=24 * 60,
        initial=15,
        label="reservation length (minutes)",
    )


@admin.register(Command)
class CommandAdmin(SimpleHistoryAdmin):
    list_display = ("outcome", "command", "result", "response", "cpo", "target", "created",
                    "finished", "requested_by")  # fmt: skip
    list_filter = ("state", "command", "result", "response")
    list_select_related = ("cpo", "token")
    search_fields = ("location_id", "evse_uid", "session_ocpi_id", "reservation_id", "token__uid")
    exclude = ("uid_hash",)
    actions = ("cancel_reservations",)
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [f.name for f in Command._meta.fields if f.name not in self.exclude]
        return [*fields, "created", "finished"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # sent from the "Send a command" page, the EVSE and session actions

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="state", ordering="state")
    def outcome(self, obj: Command) -> str:
        return _outcome(obj.get_state_display(), obj.state in FAILED_STATES)

    @admin.display(description="at")
    def target(self, obj: Command) -> str:
        if obj.session_ocpi_id:
            return f"session {obj.session_ocpi_id}"
        if obj.command == CommandType.CANCEL_RESERVATION:
            return f"reservation {obj.reservation_id}"
        parts = [obj.location_id, obj.evse_uid, obj.connector_id]
        return " / ".join(p for p in parts if p)

    @admin.display(description="sent (UTC)", ordering="created_at")
    def created(self, obj: Command) -> str:
        return when(obj.created_at)

    @admin.display(description="ended (UTC)", ordering="finished_at")
    def finished(self, obj: Command) -> str:
        return when(obj.finished_at)

    @admin.action(description="Cancel the selected reservations (CANCEL_RESERVATION)")
    def cancel_reservations(self, request: HttpRequest, queryset: QuerySet) -> None:
        for command in queryset.select_related("cpo__connection"):
            _report(
                self,
                request,
                lambda c=command: services.command_cancel_reservation(
                    reservation=c, requested_by=f"staff:{request.user}"
                ),
            )

    def get_urls(self) -> list:
        return [
            path(
                "send/",
                self.admin_site.admin_view(self.send_view),
                name="commands_command_send",
            ),
            *super().get_urls(),
        ]

    def send_view(self, request: HttpRequest) -> HttpResponse:
        initial = {"evse": request.GET.get("evse")} if request.GET.get("evse") else {}
        form = SendCommandForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            command = _send_from_form(self, request, form.cleaned_data)
            if command is not None:
                return HttpResponseRedirect(
                    reverse("admin:commands_command_change", args=[command.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": "Send a command to a partner's EVSE",
            "submit": "Send",
            "help": "The CPO answers at once whether it takes the command; the result "
            "follows within its timeout (shown on the command).",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/commands/command/send.html", context)


def _report(model_admin: admin.ModelAdmin, request: HttpRequest, send: Any) -> Command | None:
    try:
        command = send()
    except ValidationError as exc:
        model_admin.message_user(request, _error_text(exc), messages.ERROR)
        return None
    level = messages.ERROR if command.state in FAILED_STATES else messages.SUCCESS
    text = f"{command.get_command_display()}: {command.get_state_display()}"
    if command.response_message or command.error:
        text += f" ({command.response_message or command.error})"
    model_admin.message_user(request, text, level)
    return command


def _send_from_form(
    model_admin: admin.ModelAdmin, request: HttpRequest, data: dict[str, Any]
) -> Command | None:
    by = f"staff:{request.user}"
    evse: EVSE = data["evse"]
    if data["command"] in (CommandType.START_SESSION, CommandType.RESERVE_NOW) and not data.get(
        "token"
    ):
        model_admin.message_user(request, "Choose the driver's token.", messages.ERROR)
        return None
    if data["command"] == CommandType.START_SESSION:
        return _report(
            model_admin,
            request,
            lambda: services.command_start_session(token=data["token"], evse=evse, requested_by=by),
        )
    if data["command"] == CommandType.RESERVE_NOW:
        until = timezone.now() + dt.timedelta(minutes=data.get("minutes") or 15)
        return _report(
            model_admin,
            request,
            lambda: services.command_reserve_now(
                token=data["token"], evse=evse, expiry_date=until, requested_by=by
            ),
        )
    connector = evse.connectors.filter(connector_key=(data.get("connector_id") or "").upper())
    if not connector.exists():
        connector = evse.connectors.order_by("position", "pk")[:1]
    return _report(
        model_admin,
        request,
        lambda: services.command_unlock_connector(connector=connector.get(), requested_by=by),
    )


@admin.register(ReceivedCommand)
class ReceivedCommandAdmin(SimpleHistoryAdmin):
    list_display = ("command", "response", "result", "emsp", "at", "created", "result_sent")
    list_filter = ("command", "response", "result")
    list_select_related = ("emsp",)
    search_fields = ("location_id", "evse_uid", "token_uid", "token_contract_id")
    exclude = ("response_url",)
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [f.name for f in ReceivedCommand._meta.fields if f.name not in self.exclude]
        return [*fields, "created", "result_sent"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="at")
    def at(self, obj: ReceivedCommand) -> str:
        return " / ".join(p for p in (obj.location_id, obj.evse_uid, obj.connector_id) if p)

    @admin.display(description="received (UTC)", ordering="created_at")
    def created(self, obj: ReceivedCommand) -> str:
        return when(obj.created_at)

    @admin.display(description="result sent (UTC)", ordering="result_queued_at")
    def result_sent(self, obj: ReceivedCommand) -> str:
        return when(obj.result_queued_at)


@admin.register(Reservation)
class ReservationAdmin(SimpleHistoryAdmin):
    list_display = ("status", "reservation_id", "emsp", "evse", "until", "token_uid", "created")
    list_filter = ("status",)
    list_select_related = ("emsp", "evse")
    search_fields = ("reservation_key", "token_uid", "token_contract_id")
    exclude = ("response_url",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [f.name for f in Reservation._meta.fields if f.name not in self.exclude]
        return [*fields, "until", "created"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="reserved until (UTC)", ordering="expiry_date")
    def until(self, obj: Reservation) -> str:
        return when(obj.expiry_date)

    @admin.display(description="made (UTC)", ordering="created_at")
    def created(self, obj: Reservation) -> str:
        return when(obj.created_at)


# --- Actions on the lower floors' pages (commands may reach down; they know nothing of it) ---


@admin.action(description="Send a command to this partner EVSE (start, unlock, reserve)")
def send_command_to_evse(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet):
    evse = queryset.first()
    url = reverse("admin:commands_command_send")
    return HttpResponseRedirect(f"{url}?evse={evse.pk}" if evse else url)


@admin.action(description="Stop the selected sessions (STOP_SESSION to their CPO)")
def stop_sessions(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet):
    for session in queryset.select_related("owner__connection"):
        _report(
            model_admin,
            request,
            lambda s=session: services.command_stop_session(
                session=s, requested_by=f"staff:{request.user}"
            ),
        )


def _add_action(model: type, action: Any) -> None:
    model_admin = admin.site._registry.get(model)
    if model_admin is not None:
        model_admin.actions = (*(model_admin.actions or ()), action)


_add_action(EVSE, send_command_to_evse)
_add_action(Session, stop_sessions)
