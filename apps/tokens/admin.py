"""Staff UI for tokens: our drivers' (editable, pushed) and partners' (read-only), decisions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.html import format_html_join
from import_export import resources
from import_export.admin import ImportMixin
from rest_framework.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from apps.partners.models import OutboxMessage, Party, Role
from echargo.web.search import FoldedSearchMixin

from . import selectors, services
from .models import AuthorizationDecision, Token

# What staff edit in forms and CSV: the fields a change may carry, except the nested
# energy_contract object, which has no flat form field or CSV column.
_EDITABLE = tuple(f for f in services.MUTABLE_FIELDS if f != "energy_contract")


def _django_error(exc: ValidationError) -> DjangoValidationError:
    return DjangoValidationError(str(exc.detail))


class OwnTokenResource(resources.ModelResource):
    """CSV import of our drivers' tokens; every row goes through the token services."""

    class Meta:
        model = Token
        fields = ("uid", "type", *_EDITABLE)
        import_id_fields = ("uid", "type")
        skip_unchanged = True
        report_skipped = True

    def get_queryset(self) -> QuerySet[Token]:
        return selectors.token_list_own()

    def init_instance(self, row: Any = None) -> Token:
        owners = Party.objects.filter(is_own=True, role=Role.EMSP)
        if owners.count() != 1:
            raise DjangoValidationError("CSV import needs exactly one eMSP party of ours.")
        return Token(owner=owners.get(), last_updated=timezone.now())

    def do_instance_save(self, instance: Token, is_create: bool) -> None:
        fields = {f: getattr(instance, f) for f in _EDITABLE}
        try:
            if is_create:
                saved = services.token_issue_own(
                    owner=instance.owner, uid=instance.uid, type=instance.type or "RFID", **fields
                )
                instance.pk = saved.pk
            else:
                current = Token.objects.get(pk=instance.pk)
                services.token_update_own(token=current, changes=fields, reason="CSV import")
        except ValidationError as exc:
            raise _django_error(exc) from exc


class OwnerFilter(admin.SimpleListFilter):
    title = "owner"
    parameter_name = "own"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Our drivers"), ("no", "Partners' drivers")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(owner__is_own=self.value() == "yes")
        return queryset


@admin.register(Token)
class TokenAdmin(FoldedSearchMixin, ImportMixin, SimpleHistoryAdmin):
    resource_classes = [OwnTokenResource]
    list_display = (
        "uid",
        "type",
        "owner",
        "contract_id",
        "visual_number",
        "valid",
        "whitelist",
        "last_updated",
    )
    list_filter = (OwnerFilter, "owner", "type", "valid", "whitelist")
    list_select_related = ("owner",)
    search_fields = ("uid_key", "contract_id", "visual_number")
    raw_id_fields = ("owner",)
    actions = ("block", "unblock")
    show_full_result_count = False

    def get_fields(self, request: HttpRequest, obj: Token | None = None) -> tuple:
        if obj is None:
            return ("owner", "uid", "type", *_EDITABLE, "energy_contract")
        return (
            "owner",
            "uid",
            "type",
            *_EDITABLE,
            "energy_contract",
            "last_updated",
            "partner_acknowledgements",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Token | None = None) -> tuple:
        if obj is None:
            return ()
        if not obj.owner.is_own:
            # A partner's token is what its eMSP says: read-only here.
            return (*self.get_fields(request, obj),)
        return ("owner", "uid", "type", "last_updated", "partner_acknowledgements")

    @admin.display(description="Pushed to partners")
    def partner_acknowledgements(self, obj: Token) -> str:
        rows = (
            OutboxMessage.objects.filter(module="tokens", object_key=obj.object_key)
            .select_related("connection")
            .order_by("-pk")[:20]
        )
        return (
            format_html_join(
                "",
                "<div>{} {} → {}: {} {}</div>",
                (
                    (
                        m.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                        m.method,
                        m.connection,
                        m.status,
                        f"(acknowledged {m.delivered_at:%Y-%m-%d %H:%M:%S})"
                        if m.delivered_at
                        else f"({m.last_error[:80]})"
                        if m.last_error
                        else "",
                    )
                    for m in rows
                ),
            )
            or "Not pushed to any partner yet."
        )

    def save_model(self, request: HttpRequest, obj: Token, form: Any, change: bool) -> None:
        fields = {f: form.cleaned_data.get(f) for f in _EDITABLE if f in form.cleaned_data}
        fields["energy_contract"] = form.cleaned_data.get("energy_contract")
        try:
            if change:
                current = Token.objects.get(pk=obj.pk)
                services.token_update_own(
                    token=current, changes=fields, reason=f"Changed by {request.user}"
                )
            else:
                saved = services.token_issue_own(
                    owner=obj.owner, uid=obj.uid, type=obj.type, **fields
                )
                obj.pk = saved.pk
        except ValidationError as exc:
            # Shown as a message; the services wrote nothing.
            self.message_user(request, f"Not saved: {exc.detail}", messages.ERROR)

    def response_add(self, request: HttpRequest, obj: Token, *args: Any) -> HttpResponse:
        # A refused issue saved nothing: back to the form, the message says why.
        return (
            super().response_add(request, obj, *args)
            if obj.pk
            else HttpResponseRedirect(request.path)
        )

    def delete_model(self, request: HttpRequest, obj: Token) -> None:
        # OCPI tokens are never deleted (invalidate with valid=false); block instead.
        self.message_user(
            request, "Tokens are not deleted in OCPI: blocked instead.", messages.WARNING
        )
        if obj.owner.is_own and obj.valid:
            services.token_block_own(token=obj, reason=f"Deleted by {request.user}: blocked")

    def has_delete_permission(self, request: HttpRequest, obj: Token | None = None) -> bool:
        return False

    def _set_valid(self, request: HttpRequest, queryset: QuerySet, valid: bool) -> None:
        done, skipped = 0, 0
        for token in queryset.select_related("owner"):
            if not token.owner.is_own:
                skipped += 1
                continue
            services.token_update_own(
                token=token,
                changes={"valid": valid},
                reason=f"{'Unblocked' if valid else 'Blocked'} by {request.user}",
            )
            done += 1
        self.message_user(
            request,
            f"{done} token(s) {'unblocked' if valid else 'blocked'} and pushed to partners.",
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                f"{skipped} partner token(s) skipped: only their eMSP can change them.",
                messages.WARNING,
            )

    @admin.action(description="Block selected tokens (pushed to every CPO partner)")
    def block(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_valid(request, queryset, False)

    @admin.action(description="Unblock selected tokens")
    def unblock(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_valid(request, queryset, True)


@admin.register(AuthorizationDecision)
class AuthorizationDecisionAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "side",
        "uid",
        "type",
        "connection",
        "location_id",
        "allowed",
        "source",
        "latency_ms",
        "authorization_reference",
    )
    list_filter = ("side", "allowed", "source", "connection")
    list_select_related = ("connection",)
    search_fields = ("uid", "=authorization_reference", "location_id")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        since = timezone.now() - dt.timedelta(hours=24)
        extra = {
            **(extra_context or {}),
            "summary": selectors.authorization_summary_per_partner(since=since),
        }
        return super().changelist_view(request, extra_context=extra)
