"""Staff UI for our chargers: the registry with its connector mapping, commands, the journal.

What a charger reports (BootNotification facts, heartbeats, statuses) is read-only; staff edit
the id, location, password and leniency, and send commands, all through apps/chargers/services.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from rest_framework.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from echargo.web.search import FoldedSearchMixin

from . import services
from .models import (
    Charger,
    ChargerCommand,
    ChargerConnector,
    ChargerMessage,
    CommandAction,
    CommandStatus,
)

BAD_COMMAND = (CommandStatus.REJECTED, CommandStatus.FAILED, CommandStatus.TIMEOUT)


def when(value: dt.datetime | None) -> str:
    """Every time shows its zone (STYLE.md 11b)."""
    return "-" if value is None else f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


def _message(exc: ValidationError) -> str:
    detail = exc.detail
    if isinstance(detail, list):
        return " ".join(str(d) for d in detail)
    return str(detail)


class ChargerForm(forms.ModelForm):
    new_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="HTTP Basic password of this charger (16-40 characters); stored hashed. "
        "Leave empty to keep the current one.",
    )

    class Meta:
        model = Charger
        fields = ("charge_point_id", "location", "lenient")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        password = data.get("new_password") or ""
        if not self.instance.pk and not password:
            self.add_error("new_password", "A new charger needs a password.")
        if password and not 16 <= len(password) <= 40:
            self.add_error("new_password", "OCPP passwords are 16 to 40 characters.")
        return data


class ChargerConnectorInline(admin.TabularInline):
    model = ChargerConnector
    extra = 0
    fields = ("connector_number", "evse", "connector", "ocpp_status", "error_code", "status_time")
    readonly_fields = ("ocpp_status", "error_code", "status_time")
    raw_id_fields = ("evse", "connector")
    verbose_name = "OCPP connector"
    verbose_name_plural = "OCPP connectors -> our EVSEs"

    @admin.display(description="status since")
    def status_time(self, obj: ChargerConnector) -> str:
        return when(obj.status_at)


@admin.register(Charger)
class ChargerAdmin(FoldedSearchMixin, SimpleHistoryAdmin):
    form = ChargerForm
    inlines = [ChargerConnectorInline]
    list_display = (
        "charge_point_id",
        "online",
        "status",
        "heartbeat",
        "location",
        "vendor",
        "model",
        "firmware_version",
        "lenient",
    )
    list_filter = ("connected", "lenient", "vendor")
    search_fields = ("charge_point_id", "serial_number", "vendor", "model")
    list_select_related = ("location",)
    raw_id_fields = ("location",)
    readonly_fields = (
        "vendor",
        "model",
        "firmware_version",
        "serial_number",
        "charge_box_serial_number",
        "meter_type",
        "meter_serial_number",
        "iccid",
        "imsi",
        "protocol",
        "status",
        "error_code",
        "connected",
        "connected_node",
        "connected_since_utc",
        "last_boot_utc",
        "heartbeat",
        "send_command",
    )
    fieldsets = (
        (None, {"fields": ("charge_point_id", "location", "new_password", "lenient")}),
        (
            "Reported by the charger (BootNotification, StatusNotification)",
            {
                "fields": (
                    ("vendor", "model", "firmware_version"),
                    ("serial_number", "charge_box_serial_number"),
                    ("meter_type", "meter_serial_number"),
                    ("iccid", "imsi"),
                    ("status", "error_code"),
                )
            },
        ),
        (
            "Connection",
            {
                "fields": (
                    ("connected", "protocol", "connected_node"),
                    ("connected_since_utc", "last_boot_utc", "heartbeat"),
                    "send_command",
                )
            },
        ),
    )
    actions = ("reset_soft", "reset_hard", "unlock_all")

    @admin.display(boolean=True, description="connected", ordering="connected")
    def online(self, obj: Charger) -> bool:
        return obj.connected

    @admin.display(description="last heartbeat", ordering="last_heartbeat_at")
    def heartbeat(self, obj: Charger) -> str:
        return when(obj.last_heartbeat_at)

    @admin.display(description="connected since")
    def connected_since_utc(self, obj: Charger) -> str:
        return when(obj.connected_since)

    @admin.display(description="last boot")
    def last_boot_utc(self, obj: Charger) -> str:
        return when(obj.last_boot_at)

    @admin.display(description="commands")
    def send_command(self, obj: Charger) -> str:
        if not obj.pk:
            return "-"
        add = reverse("admin:chargers_chargercommand_add") + f"?charger={obj.pk}"
        listing = reverse("admin:chargers_chargercommand_changelist") + f"?charger__id={obj.pk}"
        journal = reverse("admin:chargers_chargermessage_changelist") + f"?charger__id={obj.pk}"
        return format_html(
            '<a href="{}">Send a command</a> · <a href="{}">Commands</a> · '
            '<a href="{}">Journal</a>',
            add,
            listing,
            journal,
        )

    def save_model(self, request: HttpRequest, obj: Charger, form: Any, change: bool) -> None:
        password = form.cleaned_data.get("new_password")
        if password:
            obj.set_password(password)
        obj._change_reason = "Changed by staff" if change else "Registered by staff"
        super().save_model(request, obj, form, change)

    def _queue(self, request: HttpRequest, queryset: QuerySet[Charger], action: str) -> None:
        for charger in queryset:
            for number in self._numbers(charger, action):
                try:
                    command = services.charger_command_queue(
                        charger=charger,
                        action=action,
                        connector_number=number,
                        requested_by=f"staff:{request.user.get_username()}",
                    )
                except ValidationError as exc:
                    self.message_user(request, f"{charger}: {_message(exc)}", messages.ERROR)
                    continue
                level = messages.WARNING if command.is_final else messages.SUCCESS
                self.message_user(request, f"{charger}: {command.get_status_display()}.", level)

    @staticmethod
    def _numbers(charger: Charger, action: str) -> list[int | None]:
        if action != CommandAction.UNLOCK_CONNECTOR:
            return [None]
        return list(charger.connectors.values_list("connector_number", flat=True))

    @admin.action(description="Reset (soft reboot)")
    def reset_soft(self, request: HttpRequest, queryset: QuerySet[Charger]) -> None:
        self._queue(request, queryset, CommandAction.RESET_SOFT)

    @admin.action(description="Reset (hard reboot)")
    def reset_hard(self, request: HttpRequest, queryset: QuerySet[Charger]) -> None:
        self._queue(request, queryset, CommandAction.RESET_HARD)

    @admin.action(description="Unlock every connector")
    def unlock_all(self, request: HttpRequest, queryset: QuerySet[Charger]) -> None:
        self._queue(request, queryset, CommandAction.UNLOCK_CONNECTOR)


class CommandForm(forms.ModelForm):
    availability = forms.ChoiceField(
        required=False,
        choices=[("", "-"), ("Operative", "Operative"), ("Inoperative", "Inoperative")],
        help_text="Change availability only.",
    )

    class Meta:
        model = ChargerCommand
        fields = (
            "charger",
            "action",
            "connector_number",
            "id_tag",
            "transaction_id",
            "reservation_id",
            "expiry_date",
            "availability",
        )
        help_texts = {
            "connector_number": "Unlock, reserve, change availability (0 = the whole charger); "
            "remote start (optional).",
            "id_tag": "The driver's token uid: remote start, reserve now.",
            "expiry_date": "Reserve now: until when (UTC).",
        }


@admin.register(ChargerCommand)
class ChargerCommandAdmin(SimpleHistoryAdmin):
    form = CommandForm
    list_display = (
        "outcome",
        "action",
        "charger",
        "answer",
        "took",
        "created",
        "requested_by",
        "detail",
    )
    list_filter = ("status", "action")
    search_fields = ("charger__charge_point_id", "requested_by", "answer")
    list_select_related = ("charger",)
    raw_id_fields = ("charger",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        # A sent command is a record: what was asked and what came back.
        return [f.name for f in ChargerCommand._meta.fields] + ["took"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="status", ordering="status")
    def outcome(self, obj: ChargerCommand) -> str:
        if obj.status in BAD_COMMAND:
            return format_html(
                '<strong style="color:#ba2121">{}</strong>', obj.get_status_display()
            )
        return obj.get_status_display()

    @admin.display(description="queued", ordering="created_at")
    def created(self, obj: ChargerCommand) -> str:
        return when(obj.created_at)

    @admin.display(description="took (s)")
    def took(self, obj: ChargerCommand) -> str:
        if obj.finished_at is None:
            return "-"
        return f"{(obj.finished_at - obj.created_at).total_seconds():.2f}"

    def save_model(self, request: HttpRequest, obj: ChargerCommand, form: Any, change: bool):
        if change:
            return
        data = form.cleaned_data
        try:
            command = services.charger_command_queue(
                charger=data["charger"],
                action=data["action"],
                connector_number=data.get("connector_number"),
                id_tag=data.get("id_tag") or "",
                transaction_id=data.get("transaction_id"),
                reservation_id=data.get("reservation_id"),
                expiry_date=data.get("expiry_date"),
                availability=data.get("availability") or "",
                requested_by=f"staff:{request.user.get_username()}",
            )
        except ValidationError as exc:
            self.message_user(request, _message(exc), messages.ERROR)
            obj.pk = None
            return
        obj.pk = command.pk
        if command.is_final:
            self.message_user(request, f"{command}: {command.detail}", messages.WARNING)

    def response_add(self, request: HttpRequest, obj: ChargerCommand, post_url_continue=None):
        if obj.pk is None:
            return self.response_post_save_add(request, obj)
        return super().response_add(request, obj, post_url_continue)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"charger": request.GET.get("charger")}


@admin.register(ChargerMessage)
class ChargerMessageAdmin(admin.ModelAdmin):
    list_display = ("created", "charge_point_id", "kind", "action", "error_code", "note_shown")
    list_filter = ("kind", "needs_review", "error_code")
    search_fields = ("charge_point_id", "action", "unique_id", "note")
    list_select_related = ("charger",)
    readonly_fields = ("created", "charger", "charge_point_id", "kind", "action", "unique_id",
                       "error_code", "frame", "note", "needs_review")  # fmt: skip
    fields = readonly_fields
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="at (UTC)", ordering="created_at")
    def created(self, obj: ChargerMessage) -> str:
        return when(obj.created_at)

    @admin.display(description="note")
    def note_shown(self, obj: ChargerMessage) -> str:
        if obj.needs_review:
            return format_html('<strong style="color:#ba2121">{}</strong>', obj.note)
        return obj.note

    @admin.display(description="frame as received or sent")
    def frame(self, obj: ChargerMessage) -> str:
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', obj.message)
