"""CSV import of our own locations (django-import-export), saved through location_upsert_own.

One row per location. Columns: id, name, address, city, postal_code, state, country (alpha-3),
latitude, longitude, time_zone, parking_type, publish, facilities ("CAFE;WIFI"), party
("TR*ECH", optional when we host one CPO), and connectors: "EVSE_UID/CONNECTOR_ID/STANDARD/
FORMAT/POWER_TYPE/MAX_VOLTAGE/MAX_AMPERAGE[/MAX_ELECTRIC_POWER]" items separated by ";".
An empty connectors cell keeps the location's EVSEs; a filled one replaces them (EVSEs it no
longer names become REMOVED). Every row is validated as OCPI; a bad row is reported with its
reason and nothing of it is stored.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from import_export import fields, resources, widgets
from rest_framework.exceptions import ValidationError

from apps.partners.models import Party
from echargo.ocpi.exceptions import OcpiError
from echargo.ocpi.routing import ci
from echargo.ocpi.wire import flatten_errors

from . import store
from .models import Location, Status
from .selectors import location_own_cpos
from .services import location_upsert_own
from .wire import LocationFieldsOut

CSV_REASON = "CSV import"


def parse_connectors(text: str, current: dict[str, Any]) -> list[dict[str, Any]]:
    """EVSEs from the compact connectors cell; an EVSE we already hold keeps its other fields."""
    evses: dict[str, dict[str, Any]] = {}
    known = {ci(e["uid"]): e for e in current.get("evses", [])}
    for item in filter(None, (part.strip() for part in text.split(";"))):
        parts = item.split("/")
        if len(parts) not in (7, 8):
            raise DjangoValidationError(
                f"connectors: {item!r} is not EVSE/ID/STANDARD/FORMAT/POWER/VOLT/AMP[/WATT]."
            )
        uid, connector_id, standard, fmt, power_type, voltage, amperage = parts[:7]
        evse = evses.setdefault(
            ci(uid),
            {
                **known.get(ci(uid), {"uid": uid, "status": Status.AVAILABLE}),
                "connectors": [],
            },
        )
        connector = {
            "id": connector_id,
            "standard": standard,
            "format": fmt,
            "power_type": power_type,
            "max_voltage": voltage,
            "max_amperage": amperage,
        }
        if len(parts) == 8:
            connector["max_electric_power"] = parts[7]
        evse["connectors"].append(connector)
    return list(evses.values())


class OwnLocationResource(resources.ModelResource):
    location_id = fields.Field(attribute="location_id", column_name="id")
    publish = fields.Field(
        attribute="publish", column_name="publish", widget=widgets.BooleanWidget()
    )
    facilities = fields.Field(
        attribute="facilities", column_name="facilities", widget=widgets.SimpleArrayWidget(";")
    )

    class Meta:
        model = Location
        fields = (
            "location_id",
            "name",
            "address",
            "city",
            "postal_code",
            "state",
            "country",
            "latitude",
            "longitude",
            "time_zone",
            "parking_type",
            "publish",
            "facilities",
        )
        import_id_fields = ("location_id",)
        use_transactions = True
        skip_unchanged = False

    def get_queryset(self) -> Any:
        return Location.objects.filter(owner__in=location_own_cpos())

    def get_instance(self, instance_loader: Any, row: dict[str, Any]) -> Location | None:
        location_id = (row.get("id") or "").strip()
        if not location_id:
            return None
        return self.get_queryset().filter(location_key=ci(location_id)).first()

    def _owner(self, row: dict[str, Any], instance: Location) -> Party:
        if instance.pk:
            return instance.owner
        key = (row.get("party") or "").replace("*", "").strip().upper()
        owners = location_own_cpos()
        if key:
            owners = owners.filter(country_code=key[:2], party_id=key[2:])
        found = list(owners[:2])
        if len(found) != 1:
            raise DjangoValidationError(
                "party: name one of our CPO parties, e.g. TR*ECH."
                if key or not found
                else "party: several CPO parties of ours; say which one."
            )
        return found[0]

    def save_instance(
        self, instance: Location, is_create: bool, row: dict[str, Any], **kwargs: Any
    ) -> None:
        """Save through the service, in dry runs too (import-export rolls those back)."""
        owner = self._owner(row, instance)
        current = store.document(instance) if instance.pk else {}
        # The instance holds the stored fields updated by the row; EVSEs come from the document.
        data = {**LocationFieldsOut(instance).data, "evses": current.get("evses", [])}
        connectors = (row.get("connectors") or "").strip()
        if connectors:
            data["evses"] = parse_connectors(connectors, current)
        try:
            saved = location_upsert_own(owner=owner, data=data, reason=CSV_REASON)
        except ValidationError as exc:
            raise DjangoValidationError(flatten_errors(exc.detail)) from exc
        except OcpiError as exc:
            raise DjangoValidationError(exc.message) from exc
        instance.pk = saved.pk
