"""Staff UI for locations: our own are edited here (saved through the services, so partners get
the push); partners' are read-only. EVSE status counts, a status map, and CSV import."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from import_export.admin import ImportMixin
from rest_framework.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from echargo.ocpi.exceptions import OcpiError
from echargo.ocpi.wire import flatten_errors
from echargo.web.search import FoldedSearchMixin

from . import services
from .imports import OwnLocationResource
from .models import EVSE, Connector, Location, Status
from .selectors import (
    location_map_points,
    location_own_cpos,
    location_status_counts,
    location_with_status_counts,
)
from .wire import (
    ConnectorOut,
    EVSEFieldsOut,
    EVSEIn,
    LocationFieldsOut,
    LocationIn,
    evse_document,
)

# --- Building OCPI documents from what staff typed ---------------------------------------------


def _placeholder_stamps(data: dict[str, Any]) -> dict[str, Any]:
    """last_updated is set by the services from the clock; validation only needs one."""
    return {"last_updated": "2000-01-01T00:00:00Z", **data}


def _location_data(location: Location, evses: list[dict[str, Any]]) -> dict[str, Any]:
    data = dict(LocationFieldsOut(location).data)
    if location.owner_id:
        data.update(country_code=location.owner.country_code, party_id=location.owner.party_id)
    return {**data, "evses": evses}


def _evse_data(evse: EVSE, connector_forms: list[forms.ModelForm]) -> dict[str, Any]:
    connectors = [_placeholder_stamps(dict(ConnectorOut(f.instance).data)) for f in connector_forms]
    return {**EVSEFieldsOut(evse).data, "connectors": connectors}


def _errors(serializer_class: Any, data: dict[str, Any]) -> list[str]:
    serializer = serializer_class(data=data)
    return [] if serializer.is_valid() else flatten_errors(serializer.errors)


def _kept_forms(formset: BaseInlineFormSet) -> list[forms.ModelForm]:
    """Inline forms that describe an object after the save (not deleted, not blank extras)."""
    deleted = set(map(id, formset.deleted_forms)) if formset.can_delete else set()
    return [
        f
        for f in formset.forms
        if id(f) not in deleted and (f.instance.pk or f.has_changed()) and f.is_valid()
    ]


def _save_failed(admin_: admin.ModelAdmin, request: HttpRequest, exc: Exception) -> None:
    detail = exc.detail if isinstance(exc, ValidationError) else getattr(exc, "message", exc)
    admin_.message_user(request, f"Not saved: {'; '.join(flatten_errors(detail))}", messages.ERROR)


def _no_formset_changes(formsets: list[BaseInlineFormSet]) -> None:
    # The services saved the inline objects; the admin's change message reads these.
    for formset in formsets:
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


# --- Filters -------------------------------------------------------------------------------------


class OwnershipFilter(admin.SimpleListFilter):
    title = "owner"
    parameter_name = "ownership"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("own", "Ours"), ("partner", "Partners'")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        prefix = "location__" if queryset.model is EVSE else ""
        if self.value() in ("own", "partner"):
            return queryset.filter(**{f"{prefix}owner__is_own": self.value() == "own"})
        return queryset


class EvseStatusFilter(admin.SimpleListFilter):
    title = "EVSE status"
    parameter_name = "evse_status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(Status.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in Status.values:
            # A subquery, not a join: a join would multiply the annotated status counts.
            having = EVSE.objects.filter(status=self.value()).values("location_id")
            return queryset.filter(pk__in=having)
        return queryset


# --- Location ------------------------------------------------------------------------------------


class LocationForm(forms.ModelForm):
    class Meta:
        model = Location
        fields = (
            "owner",
            "location_id",
            "publish",
            "publish_allowed_to",
            "name",
            "address",
            "city",
            "postal_code",
            "state",
            "country",
            "latitude",
            "longitude",
            "related_locations",
            "parking_type",
            "directions",
            "operator",
            "suboperator",
            "owner_details",
            "facilities",
            "time_zone",
            "opening_times",
            "charging_when_closed",
            "images",
            "energy_mix",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "owner" in self.fields:
            self.fields["owner"].queryset = location_own_cpos()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        owner, location_id = cleaned.get("owner"), cleaned.get("location_id")
        if self.instance.pk is None and owner and location_id:
            duplicate = Location.objects.filter(
                country_code=owner.country_code,
                party_id=owner.party_id,
                location_key=location_id.upper(),
            )
            if duplicate.exists():
                self.add_error("location_id", "We already have a location with this id.")
        return cleaned


class EVSEInlineFormSet(BaseInlineFormSet):
    """Validates the whole location as OCPI before anything is saved."""

    def clean(self) -> None:
        super().clean()
        location = self.instance
        if not location.owner_id or any(f.errors for f in self.forms):
            return
        evses = [_placeholder_stamps(evse_document(f.instance)) for f in _kept_forms(self)]
        data = _placeholder_stamps(_location_data(location, evses))
        if errors := _errors(LocationIn, data):
            raise forms.ValidationError(errors)


class EVSEInline(admin.TabularInline):
    model = EVSE
    formset = EVSEInlineFormSet
    fields = ("uid", "evse_id", "status", "physical_reference", "floor_level", "last_updated")
    readonly_fields = ("uid", "last_updated")
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "EVSEs (add one, with its connectors, from the EVSE page)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Location)
class LocationAdmin(FoldedSearchMixin, ImportMixin, SimpleHistoryAdmin):
    form = LocationForm
    resource_classes = [OwnLocationResource]
    change_list_template = "admin/locations/location/change_list_map.html"
    list_display = (
        "location_id",
        "name",
        "city",
        "owner",
        "publish",
        "evse_statuses",
        "last_updated",
    )
    list_filter = (OwnershipFilter, EvseStatusFilter, "publish", "city")
    list_select_related = ("owner",)
    search_fields = ("location_id", "name", "address", "city")
    inlines = [EVSEInline]
    readonly_fields = ("last_updated", "shared_with")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Location]:
        return location_with_status_counts(super().get_queryset(request))

    @admin.display(description="EVSEs")
    def evse_statuses(self, location: Location) -> str:
        counts = location_status_counts(location)
        return ", ".join(f"{n} {status.lower()}" for status, n in counts.items()) or "none"

    @admin.display(description="Shared with (publish_allowed_to)")
    def shared_with(self, location: Location) -> str:
        if location.pk is None:
            return "-"
        return ", ".join(str(p) for p in location.visible_to.all()) or "-"

    def get_readonly_fields(self, request: HttpRequest, obj: Location | None = None) -> tuple:
        if obj is not None:
            # OCPI: a Location's id never changes, and neither does its owner.
            return (*self.readonly_fields, "owner", "location_id")
        return self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: Location | None = None) -> bool:
        # Partners' locations are theirs: shown, never edited here.
        if obj is not None and not obj.owner.is_own:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Location | None = None) -> bool:
        # OCPI 2.2.1 has no deletion of locations; sessions and CDRs refer to them.
        return False

    def save_model(self, request: HttpRequest, obj: Location, form: Any, change: bool) -> None:
        """Saved with its EVSEs in save_related, through location_upsert_own."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        location: Location = form.instance
        evses = [evse_document(f.instance) for fs in formsets for f in _kept_forms(fs)]
        _no_formset_changes(formsets)
        try:
            saved = services.location_upsert_own(
                owner=location.owner,
                data=_location_data(location, evses),
                reason=f"Changed by {request.user} in the admin",
            )
        except (ValidationError, OcpiError) as exc:
            _save_failed(self, request, exc)
            return
        location.pk = saved.pk

    def get_urls(self) -> list:
        return [
            path(
                "map/",
                self.admin_site.admin_view(self.map_view),
                name="locations_location_map",
            ),
            *super().get_urls(),
        ]

    def map_view(self, request: HttpRequest) -> HttpResponse:
        """Our and partners' stations, coloured by EVSE status (Leaflet, served by us)."""
        context = {
            **self.admin_site.each_context(request),
            "title": "Charging stations map",
            "opts": self.model._meta,
            "points": location_map_points(),
            "tiles_url": settings.MAP_TILES_URL,
            "tiles_attribution": settings.MAP_TILES_ATTRIBUTION,
        }
        return TemplateResponse(request, "admin/locations/location/map.html", context)


# --- EVSE and connectors -------------------------------------------------------------------------


class ConnectorInlineFormSet(BaseInlineFormSet):
    """Validates the EVSE with its connectors as OCPI before anything is saved."""

    def clean(self) -> None:
        super().clean()
        evse = self.instance
        if not evse.location_id or any(f.errors for f in self.forms):
            return
        data = _placeholder_stamps(_evse_data(evse, _kept_forms(self)))
        if errors := _errors(EVSEIn, data):
            raise forms.ValidationError(errors)


class ConnectorInline(admin.TabularInline):
    model = Connector
    formset = ConnectorInlineFormSet
    fields = (
        "connector_id",
        "standard",
        "format",
        "power_type",
        "max_voltage",
        "max_amperage",
        "max_electric_power",
        "tariff_ids",
        "terms_and_conditions",
        "last_updated",
    )
    readonly_fields = ("last_updated",)
    extra = 0
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_extra(self, request: HttpRequest, obj: EVSE | None = None, **kwargs: Any) -> int:
        return 1 if obj is None else 0


class EVSEForm(forms.ModelForm):
    class Meta:
        model = EVSE
        fields = (
            "location",
            "uid",
            "evse_id",
            "status",
            "status_schedule",
            "capabilities",
            "floor_level",
            "latitude",
            "longitude",
            "physical_reference",
            "directions",
            "parking_restrictions",
            "images",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "location" in self.fields:
            self.fields["location"].queryset = Location.objects.filter(
                owner__in=location_own_cpos()
            )


@admin.register(EVSE)
class EVSEAdmin(FoldedSearchMixin, SimpleHistoryAdmin):
    form = EVSEForm
    list_display = ("__str__", "uid", "location", "status", "last_updated")
    list_filter = ("status", OwnershipFilter)
    list_select_related = ("location", "location__owner")
    search_fields = ("uid", "evse_id", "location__location_id", "location__name")
    autocomplete_fields = ("location",)
    inlines = [ConnectorInline]
    readonly_fields = ("last_updated",)

    def get_readonly_fields(self, request: HttpRequest, obj: EVSE | None = None) -> tuple:
        if obj is not None:
            return (*self.readonly_fields, "location", "uid")
        return self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: EVSE | None = None) -> bool:
        if obj is not None and not obj.location.owner.is_own:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: EVSE | None = None) -> bool:
        # OCPI 2.2.1: an EVSE is never deleted; set its status to REMOVED.
        return False

    def save_model(self, request: HttpRequest, obj: EVSE, form: Any, change: bool) -> None:
        """Saved with its connectors in save_related, through the services."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        evse: EVSE = form.instance
        connector_forms = [f for fs in formsets for f in _kept_forms(fs)]
        connectors_changed = any(fs.has_changed() for fs in formsets)
        _no_formset_changes(formsets)
        reason = f"Changed by {request.user} in the admin"
        try:
            if change and form.changed_data == ["status"] and not connectors_changed:
                # A status change alone goes to partners as a PATCH.
                saved = services.evse_status_set(
                    location=evse.location, evse_uid=evse.uid, status=evse.status, reason=reason
                )
            else:
                services.evse_upsert_own(
                    location=evse.location,
                    data=_evse_data(evse, connector_forms),
                    reason=reason,
                )
                saved = evse.location.evses.get(uid_key=evse.uid.upper())
        except (ValidationError, OcpiError) as exc:
            _save_failed(self, request, exc)
            return
        evse.pk = saved.pk
