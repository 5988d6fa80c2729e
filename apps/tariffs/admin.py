"""Staff UI for tariffs: ours are edited here (through the services), partners' only viewed.

One page edits a whole tariff of ours: the tariff's fields, and one inline block per element
holding its price components and its restrictions. The admin never writes the rows itself: the
forms are composed into an OCPI Tariff object and handed to `tariff_upsert_own`, which validates
it exactly as a partner's tariff, stores it, and pushes it to every eMSP partner.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from rest_framework.exceptions import ValidationError as ApiValidationError
from simple_history.admin import SimpleHistoryAdmin

from apps.partners.models import Party, Role
from echargo.ocpi.fields import format_ocpi_datetime
from echargo.ocpi.wire import flatten_errors, ocpi_loads
from echargo.web.search import FoldedSearchMixin

from . import services
from .models import (
    DATE_PATTERN,
    HHMM_PATTERN,
    DayOfWeek,
    ReservationRestrictionType,
    Tariff,
    TariffDimensionType,
    TariffElement,
)
from .wire import TariffElementSerializer

DEFAULT_TIME_ZONE = "Europe/Istanbul"
# Price component slots per element block; more appear when a stored element has more.
MIN_COMPONENT_SLOTS = 4
RESTRICTION_FIELDS = (
    "start_time",
    "end_time",
    "start_date",
    "end_date",
    "min_kwh",
    "max_kwh",
    "min_current",
    "max_current",
    "min_power",
    "max_power",
    "min_duration",
    "max_duration",
    "day_of_week",
    "reservation",
)


def _number(**kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(max_digits=16, decimal_places=4, min_value=0, **kwargs)


# --- Element blocks ------------------------------------------------------------------------------


class TariffElementForm(forms.ModelForm):
    """One TariffElement: its price components (slots) and its restrictions, flattened."""

    slots = MIN_COMPONENT_SLOTS
    # Not the model's `position`: positions are rewritten by the service, and validating the
    # (tariff, position) key against rows about to be replaced would refuse every reordering.
    order = forms.IntegerField(
        min_value=0, required=False, help_text="Elements apply in this order (first match wins)."
    )
    start_time = forms.RegexField(HHMM_PATTERN, required=False, help_text="HH:MM, local")
    end_time = forms.RegexField(
        HHMM_PATTERN, required=False, help_text="HH:MM, local; 00:00 = end of day"
    )
    start_date = forms.RegexField(DATE_PATTERN, required=False, help_text="YYYY-MM-DD")
    end_date = forms.RegexField(DATE_PATTERN, required=False, help_text="YYYY-MM-DD, exclusive")
    min_kwh = _number(required=False)
    max_kwh = _number(required=False)
    min_current = _number(required=False, label="Min current (A)")
    max_current = _number(required=False, label="Max current (A)")
    min_power = _number(required=False, label="Min power (kW)")
    max_power = _number(required=False, label="Max power (kW)")
    min_duration = forms.IntegerField(min_value=0, required=False, label="Min duration (s)")
    max_duration = forms.IntegerField(min_value=0, required=False, label="Max duration (s)")
    day_of_week = forms.MultipleChoiceField(
        choices=DayOfWeek.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    reservation = forms.ChoiceField(
        choices=[("", "---------"), *ReservationRestrictionType.choices], required=False
    )

    class Meta:
        model = TariffElement
        fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        element = self.instance
        if element.pk is None:
            return
        self.initial["order"] = element.position
        for slot, component in enumerate(element.price_components.all(), start=1):
            self.initial.update(
                {
                    f"c{slot}_type": component.type,
                    f"c{slot}_price": component.price,
                    f"c{slot}_vat": component.vat,
                    f"c{slot}_step_size": component.step_size,
                }
            )
        try:
            restrictions = element.restrictions
        except TariffElement.restrictions.RelatedObjectDoesNotExist:
            return
        for name in RESTRICTION_FIELDS:
            self.initial[name] = getattr(restrictions, name)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        components = []
        for slot in range(1, self.slots + 1):
            kind, price, vat, step = (
                data.get(f"c{slot}_{name}") for name in ("type", "price", "vat", "step_size")
            )
            if not kind:
                if price is not None or vat is not None:
                    self.add_error(f"c{slot}_type", "Choose the dimension this price is for.")
                continue
            if price is None:
                self.add_error(f"c{slot}_price", "A price component needs a price.")
            if step is None:
                self.add_error(f"c{slot}_step_size", "A price component needs a step size.")
            component = {"type": kind, "price": price, "step_size": step}
            if vat is not None:
                component["vat"] = vat
            components.append(component)
        if self.errors:
            return data
        element: dict[str, Any] = {"price_components": components}
        restrictions = {
            name: data[name] for name in RESTRICTION_FIELDS if data.get(name) not in (None, "", [])
        }
        if restrictions:
            element["restrictions"] = restrictions
        serializer = TariffElementSerializer(data=element)
        if not serializer.is_valid():
            raise forms.ValidationError(flatten_errors(serializer.errors))
        self.ocpi_element = element
        return data


@cache
def element_form(slots: int) -> type[TariffElementForm]:
    """TariffElementForm with `slots` price component rows (declared, so the admin sees them)."""
    dimension_choices = [("", "---------"), *TariffDimensionType.choices]
    fields: dict[str, Any] = {"slots": slots}
    for slot in range(1, slots + 1):
        fields[f"c{slot}_type"] = forms.ChoiceField(
            choices=dimension_choices, required=False, label=f"Component {slot}"
        )
        fields[f"c{slot}_price"] = _number(required=False, label="price excl. VAT per unit")
        fields[f"c{slot}_vat"] = _number(
            required=False, label="VAT %", help_text="Empty: no VAT applies (not the same as 0)."
        )
        fields[f"c{slot}_step_size"] = forms.IntegerField(
            min_value=0, required=False, label="step size", initial=1
        )
    return type(f"TariffElementForm{slots}", (TariffElementForm,), fields)


class TariffElementFormSet(BaseInlineFormSet):
    """Composes the element blocks and checks the whole tariff as the service will."""

    def kept_forms(self) -> list[TariffElementForm]:
        kept = [
            form
            for form in self.forms
            if not (self.can_delete and self._should_delete_form(form))
            and (form.instance.pk is not None or form.has_changed())
        ]
        return sorted(
            kept,
            key=lambda f: (f.cleaned_data.get("order") is None, f.cleaned_data.get("order") or 0),
        )

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        self.ocpi_elements = [form.ocpi_element for form in self.kept_forms()]
        if not self.ocpi_elements:
            raise forms.ValidationError("A tariff needs at least one element.")
        tariff = self.instance
        if not getattr(tariff, "_form_is_valid", False):
            return  # the tariff's own fields have errors; they are shown above
        try:
            services.tariff_validate_own(
                data=ocpi_tariff(tariff, self.ocpi_elements), owner=tariff.owner
            )
        except ApiValidationError as exc:
            raise forms.ValidationError(flatten_errors(exc.detail)) from exc


class TariffElementInline(admin.StackedInline):
    """Our tariffs: every element editable."""

    model = TariffElement
    formset = TariffElementFormSet
    extra = 1
    verbose_name = "element"
    verbose_name_plural = "elements (the first element with a matching component prices it)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[TariffElement]:
        return (
            super()
            .get_queryset(request)
            .select_related("restrictions")
            .prefetch_related("price_components")
        )

    @staticmethod
    def _slots(obj: Tariff | None) -> int:
        if obj is None or obj.pk is None:
            return MIN_COMPONENT_SLOTS
        most = obj.elements.annotate(n=Count("price_components")).order_by("-n").first()
        return max(MIN_COMPONENT_SLOTS, most.n if most else 0)

    def get_fieldsets(self, request: HttpRequest, obj: Tariff | None = None) -> list:
        slots = self._slots(obj)
        components = [
            (f"c{i}_type", f"c{i}_price", f"c{i}_vat", f"c{i}_step_size")
            for i in range(1, slots + 1)
        ]
        return [
            (None, {"fields": ["order"]}),
            ("Price components", {"fields": components}),
            (
                "Restrictions (all must hold; times and dates are local to the location)",
                {
                    "fields": [
                        ("start_time", "end_time"),
                        ("start_date", "end_date"),
                        ("min_kwh", "max_kwh"),
                        ("min_current", "max_current"),
                        ("min_power", "max_power"),
                        ("min_duration", "max_duration"),
                        "day_of_week",
                        "reservation",
                    ]
                },
            ),
        ]

    def get_formset(self, request: HttpRequest, obj: Tariff | None = None, **kwargs: Any) -> Any:
        kwargs["form"] = element_form(self._slots(obj))
        return super().get_formset(request, obj, **kwargs)


class TariffElementReadonlyInline(admin.TabularInline):
    """Partners' tariffs: shown as received, never edited here."""

    model = TariffElement
    fields = ("position", "components", "conditions")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "element"

    def get_queryset(self, request: HttpRequest) -> QuerySet[TariffElement]:
        return (
            super()
            .get_queryset(request)
            .select_related("restrictions")
            .prefetch_related("price_components")
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Price components")
    def components(self, element: TariffElement) -> str:
        return "; ".join(
            f"{c.type} {c.price} (VAT {'none' if c.vat is None else f'{c.vat}%'}, "
            f"step {c.step_size})"
            for c in element.price_components.all()
        )

    @admin.display(description="Restrictions")
    def conditions(self, element: TariffElement) -> str:
        try:
            restrictions = element.restrictions
        except TariffElement.restrictions.RelatedObjectDoesNotExist:
            return "none"
        parts = [
            f"{name}={getattr(restrictions, name)}"
            for name in RESTRICTION_FIELDS
            if getattr(restrictions, name) not in (None, "", [])
        ]
        return ", ".join(parts) or "none"


# --- The tariff page -----------------------------------------------------------------------------


def ocpi_tariff(tariff: Tariff, elements: list[dict[str, Any]]) -> dict[str, Any]:
    """The OCPI Tariff object the admin forms describe (checked and stored by the service)."""

    def price(excl: Decimal | None, incl: Decimal | None) -> dict[str, Any] | None:
        if excl is None and incl is None:
            return None
        return {"excl_vat": excl, "incl_vat": incl}

    def when(value: dt.datetime | None) -> str | None:
        return None if value is None else format_ocpi_datetime(value)

    return {
        "id": tariff.tariff_id,
        "currency": tariff.currency,
        "type": tariff.type or None,
        "tariff_alt_text": tariff.tariff_alt_text or None,
        "tariff_alt_url": tariff.tariff_alt_url or None,
        "min_price": price(tariff.min_price_excl_vat, tariff.min_price_incl_vat),
        "max_price": price(tariff.max_price_excl_vat, tariff.max_price_incl_vat),
        "elements": elements,
        "start_date_time": when(tariff.start_date_time),
        "end_date_time": when(tariff.end_date_time),
        "energy_mix": tariff.energy_mix,
    }


class TariffForm(forms.ModelForm):
    class Meta:
        model = Tariff
        fields = (
            "owner",
            "tariff_id",
            "currency",
            "type",
            "min_price_excl_vat",
            "min_price_incl_vat",
            "max_price_excl_vat",
            "max_price_incl_vat",
            "start_date_time",
            "end_date_time",
            "tariff_alt_text",
            "tariff_alt_url",
            "energy_mix",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        owner, tariff_id = data.get("owner"), data.get("tariff_id")
        taken = (
            self.instance.pk is None
            and owner is not None
            and tariff_id
            and Tariff.objects.filter(owner=owner, tariff_id_key=tariff_id.upper()).exists()
        )
        if taken:
            self.add_error("tariff_id", f"{owner} already has a tariff with this id.")
        return data


class OwnershipFilter(admin.SimpleListFilter):
    title = "owner"
    parameter_name = "ownership"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("own", "Ours"), ("partner", "Partners'")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Tariff]) -> QuerySet[Tariff]:
        if self.value() == "own":
            return queryset.filter(owner__is_own=True)
        if self.value() == "partner":
            return queryset.filter(owner__is_own=False)
        return queryset


# What browsers send and expect in <input type="datetime-local">.
LOCAL_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class PriceSampleForm(forms.Form):
    """A session to price: local wall-clock times in `time_zone`, as staff think of them."""

    start = forms.DateTimeField(label="Start (local time)", widget=LOCAL_DATETIME)
    end = forms.DateTimeField(label="End (local time)", widget=LOCAL_DATETIME)
    energy_kwh = forms.DecimalField(
        label="Energy (kWh)", min_value=0, max_digits=12, decimal_places=4
    )
    charging_end = forms.DateTimeField(
        label="Charging ended (local time)",
        required=False,
        help_text="Empty: charging until the end. Otherwise the rest of the session is parking.",
        widget=LOCAL_DATETIME,
    )
    max_power_kw = forms.DecimalField(
        label="Max power (kW)", required=False, min_value=0, max_digits=12, decimal_places=4
    )
    time_zone = forms.CharField(
        initial=DEFAULT_TIME_ZONE, help_text="IANA name, e.g. Europe/Istanbul (the location's)."
    )

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(f"Unknown time zone {name!r}.") from None
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        name = data.get("time_zone")
        if not name:
            return data
        zone = ZoneInfo(name)
        for field in ("start", "end", "charging_end"):
            if data.get(field) is not None:
                # The widget gives a wall-clock time; read it in the chosen zone, not in UTC.
                data[field] = data[field].replace(tzinfo=None).replace(tzinfo=zone)
        start, end, charging_end = data.get("start"), data.get("end"), data.get("charging_end")
        if start and end and end < start:
            self.add_error("end", "The session ends before it starts.")
        if start and end and charging_end and not start <= charging_end <= end:
            self.add_error("charging_end", "Charging must end between start and end.")
        return data


@admin.register(Tariff)
class TariffAdmin(FoldedSearchMixin, SimpleHistoryAdmin):
    form = TariffForm
    list_display = (
        "tariff_id",
        "owner",
        "is_ours",
        "currency",
        "type",
        "element_count",
        "last_updated",
    )
    list_filter = (
        OwnershipFilter,
        "currency",
        "type",
        ("owner", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("owner",)
    search_fields = ("tariff_id", "owner__party_id", "owner__name")
    date_hierarchy = "last_updated"
    ordering = ("-last_updated",)
    fieldsets = (
        (None, {"fields": ("owner", "tariff_id", "currency", "type")}),
        (
            "Price limits (each applies independently excl. and incl. VAT)",
            {
                "fields": (
                    ("min_price_excl_vat", "min_price_incl_vat"),
                    ("max_price_excl_vat", "max_price_incl_vat"),
                )
            },
        ),
        ("Validity (UTC)", {"fields": (("start_date_time", "end_date_time"),)}),
        (
            "Description",
            {"fields": ("tariff_alt_text", "tariff_alt_url", "energy_mix")},
        ),
        ("As published", {"fields": ("last_updated", "price_sample", "ocpi_document")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tariff]:
        return super().get_queryset(request).annotate(elements_n=Count("elements"))

    def get_readonly_fields(self, request: HttpRequest, obj: Tariff | None = None) -> tuple:
        published = ("last_updated", "price_sample", "ocpi_document")
        if obj is None:
            return published
        # Owner and id are the tariff's identity at every partner: never changed in place.
        return ("owner", "tariff_id", *published)

    def get_inlines(self, request: HttpRequest, obj: Tariff | None) -> list:
        if obj is not None and not obj.owner.is_own:
            return [TariffElementReadonlyInline]
        return [TariffElementInline]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        cpos = list(Party.objects.filter(is_own=True, role=Role.CPO)[:2])
        if len(cpos) == 1:
            initial.setdefault("owner", cpos[0].pk)
        return initial

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "owner":
            kwargs["queryset"] = Party.objects.filter(is_own=True, role=Role.CPO)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Tariff | None = None) -> bool:
        if obj is not None and not obj.owner.is_own:
            return False  # a partner's tariff is theirs: shown, never edited
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Tariff | None = None) -> bool:
        if obj is not None and not obj.owner.is_own:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="ours", boolean=True, ordering="owner__is_own")
    def is_ours(self, obj: Tariff) -> bool:
        return obj.owner.is_own

    @admin.display(description="elements", ordering="elements_n")
    def element_count(self, obj: Tariff) -> int:
        return obj.elements_n

    @admin.display(description="OCPI document")
    def ocpi_document(self, obj: Tariff) -> str:
        if not obj.pk:
            return "-"
        text = json.dumps(ocpi_loads(obj.ocpi_json), indent=2, default=float)
        return format_html("<pre>{}</pre>", text)

    @admin.display(description="Pricing")
    def price_sample(self, obj: Tariff) -> str:
        if not obj.pk:
            return "-"
        url = reverse("admin:tariffs_tariff_price_sample", args=[obj.pk])
        return format_html('<a href="{}">Price a sample session</a>', url)

    # --- Saving through the services ---

    def save_form(self, request: HttpRequest, form: forms.ModelForm, change: bool) -> Tariff:
        tariff = super().save_form(request, form, change)
        # Tells the element formset that the tariff's own fields are valid, so it may check the
        # whole tariff (the formsets are built after the main form has been validated).
        tariff._form_is_valid = True
        return tariff

    def save_model(self, request: HttpRequest, obj: Tariff, form: Any, change: bool) -> None:
        # Stored in save_related, once the element blocks are known: one service call.
        pass

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: list, change: bool
    ) -> None:
        elements_formset = next(f for f in formsets if isinstance(f, TariffElementFormSet))
        tariff = form.instance
        result = services.tariff_upsert_own(
            data=ocpi_tariff(tariff, elements_formset.ocpi_elements),
            owner=tariff.owner,
            reason="Changed by staff in the admin",
        )
        # The admin logs and redirects with this object: point it at the stored row.
        tariff.pk = result.obj.pk
        if not result.changed:
            self.message_user(request, "Nothing changed: the tariff was not pushed again.")

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> str:
        # The formsets were not saved by the admin (the service replaced the rows).
        return "Added through the tariffs service." if add else "Saved through the tariffs service."

    def delete_model(self, request: HttpRequest, obj: Tariff) -> None:
        services.tariff_delete_own(tariff=obj, reason="Deleted by staff in the admin")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Tariff]) -> None:
        # delete_selected has already refused a selection holding a partner's tariff (object
        # permissions above); each of ours is retired and its DELETE pushed.
        for tariff in queryset.select_related("owner"):
            services.tariff_delete_own(tariff=tariff, reason="Deleted by staff in the admin")

    # --- Price a sample session ---

    def get_urls(self) -> list:
        return [
            path(
                "<path:object_id>/price/",
                self.admin_site.admin_view(self.price_sample_view),
                name="tariffs_tariff_price_sample",
            ),
            *super().get_urls(),
        ]

    def price_sample_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        tariff = self.get_object(request, object_id)
        if tariff is None:
            raise Http404("No such tariff.")
        if not self.has_view_permission(request, tariff):
            raise PermissionDenied
        start = timezone.localtime(timezone.now(), ZoneInfo(DEFAULT_TIME_ZONE)).replace(
            hour=9, minute=0, second=0, microsecond=0, tzinfo=None
        )
        form = PriceSampleForm(
            request.GET or None,
            initial={
                "start": start,
                "end": start + dt.timedelta(hours=2),
                "energy_kwh": Decimal(20),
                "time_zone": DEFAULT_TIME_ZONE,
            },
        )
        from .pricing import PricingError, price_session

        result = None
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = price_session(
                    tariff=ocpi_loads(tariff.ocpi_json),
                    start_date_time=data["start"],
                    end_date_time=data["end"],
                    energy_kwh=data["energy_kwh"],
                    charging_end_date_time=data["charging_end"],
                    max_power_kw=data["max_power_kw"],
                    time_zone=data["time_zone"],
                )
            except PricingError as exc:
                form.add_error(None, f"Cannot price this session: {exc}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": tariff,
            "title": f"Price a sample session with {tariff}",
            "form": form,
            "result": result,
            "breakdown": [line._asdict() for line in result.breakdown] if result else [],
            "description": result.describe() if result else "",
        }
        return TemplateResponse(request, "admin/tariffs/tariff/price_sample.html", context)
