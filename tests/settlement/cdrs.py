"""OCPI CDR documents for the settlement tests, stored the way the cdrs app stores them."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from apps.cdrs.models import Cdr
from apps.partners.models import PartnerConnection, Party
from echargo.ocpi.fields import format_ocpi_datetime

_numbers = itertools.count(1)
UTC = dt.UTC
_FOUR = Decimal("0.0001")


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(value)


RECEIVER = "/ocpi/emsp/2.2.1/cdrs"
PARTNER_TOKEN = "anatolia-token"


class CdrMaker:
    def __init__(self, *, connection: PartnerConnection, api: Any) -> None:
        self.connection = connection
        self.api = api
        self.partner_cpo = Party.objects.get(country_code="TR", party_id="ANA", role="CPO")
        self.our_cpo = Party.objects.get(is_own=True, role="CPO")

    def document(
        self,
        *,
        owner: Party,
        cdr_id: str | None = None,
        start: dt.datetime | None = None,
        hours: Decimal = Decimal(1),
        kwh: Decimal = Decimal(20),
        excl: Decimal | None = None,
        incl: Decimal | None = None,
        token: tuple[str, str, str] = ("TR", "ECH", "ECH-DRIVER-1"),
        session_id: str | None = None,
        tariff_id: str | None = "ANA-AC",
        currency: str = "TRY",
        credit_of: str | None = None,
    ) -> dict[str, Any]:
        number = next(_numbers)
        # Each CDR its own hour in November unless told (same token and times = a duplicate).
        start = start or dt.datetime(2026, 11, 10, tzinfo=UTC) + dt.timedelta(hours=number % 200)
        cdr_id = cdr_id or f"CDR-{number:06d}"
        # A CDR's amounts carry OCPI's 4 decimals, rounded half up like our engine's.
        excl = (kwh * Decimal("0.50") if excl is None else excl).quantize(_FOUR, ROUND_HALF_UP)
        incl = (excl * Decimal("1.2") if incl is None else incl).quantize(_FOUR, ROUND_HALF_UP)
        end = start + dt.timedelta(hours=float(hours))
        period: dict[str, Any] = {
            "start_date_time": format_ocpi_datetime(start),
            "dimensions": [
                {"type": "ENERGY", "volume": kwh},
                {"type": "TIME", "volume": hours},
            ],
        }
        if tariff_id:
            period["tariff_id"] = tariff_id
        document = {
            "country_code": owner.country_code,
            "party_id": owner.party_id,
            "id": cdr_id,
            "start_date_time": format_ocpi_datetime(start),
            "end_date_time": format_ocpi_datetime(end),
            "cdr_token": {
                "country_code": token[0],
                "party_id": token[1],
                "uid": token[2],
                "type": "RFID",
                "contract_id": f"{token[0]}-{token[1]}-C1",
            },
            "auth_method": "WHITELIST",
            "cdr_location": {
                "id": "LOC1",
                "address": "Istiklal Cd. 1",
                "city": "Istanbul",
                "country": "TUR",
                "coordinates": {"latitude": "41.03000", "longitude": "28.98000"},
                "evse_uid": "EVSE1",
                "evse_id": "TR*ANA*E1",
                "connector_id": "1",
                "connector_standard": "IEC_62196_T2",
                "connector_format": "SOCKET",
                "connector_power_type": "AC_3_PHASE",
            },
            "currency": currency,
            "charging_periods": [period],
            "total_cost": {
                "excl_vat": -excl if credit_of else excl,
                "incl_vat": -incl if credit_of else incl,
            },
            "total_energy_cost": {"excl_vat": excl, "incl_vat": incl},
            "total_energy": kwh,
            "total_time": hours,
            "last_updated": format_ocpi_datetime(end),
        }
        if session_id is not None:
            document["session_id"] = session_id
        if credit_of:
            document["credit"] = True
            document["credit_reference_id"] = credit_of
        return document

    def store(self, document: dict[str, Any], *, owner: Party, received: bool) -> Cdr:
        """Store a CDR row as the cdrs app does, without its services (ours, or a partner's
        that reconciliation has not seen)."""
        token = document["cdr_token"]
        total = document["total_cost"]
        location = document["cdr_location"]
        cdr = Cdr.objects.create(
            owner=owner,
            auth_method=document["auth_method"],
            location_id=location["id"],
            location_address=location["address"],
            location_city=location["city"],
            location_country=location["country"],
            evse_uid=location["evse_uid"],
            evse_id=location["evse_id"],
            connector_id=location["connector_id"],
            connector_standard=location["connector_standard"],
            connector_format=location["connector_format"],
            connector_power_type=location["connector_power_type"],
            cdr_location=json.loads(json.dumps(location, default=_encode)),
            tariffs=json.loads(json.dumps(document.get("tariffs", []), default=_encode)),
            charging_periods=json.loads(json.dumps(document["charging_periods"], default=_encode)),
            total_time=document["total_time"],
            country_code=document["country_code"],
            party_id=document["party_id"],
            cdr_id=document["id"],
            start_date_time=dt.datetime.fromisoformat(document["start_date_time"]),
            end_date_time=dt.datetime.fromisoformat(document["end_date_time"]),
            session_id=document.get("session_id", ""),
            token_country_code=token["country_code"],
            token_party_id=token["party_id"],
            token_uid=token["uid"],
            token_type=token["type"],
            token_contract_id=token["contract_id"],
            currency=document["currency"],
            total_cost_excl_vat=total["excl_vat"],
            total_cost_incl_vat=total.get("incl_vat"),
            total_energy=document["total_energy"],
            credit=document.get("credit", False),
            credit_reference_id=document.get("credit_reference_id", ""),
            received_from=self.connection if received else None,
            received_at=dt.datetime.now(tz=UTC) if received else None,
            ocpi_json=json.dumps(document, default=_encode),
            last_updated=dt.datetime.fromisoformat(document["last_updated"]),
        )
        return cdr

    def received(self, **kwargs: Any) -> Cdr:
        """A CDR Anatolia (CPO) POSTed to our eMSP CDR receiver for one of our drivers: stored
        by the cdrs app, which announces it (cdr_received) to reconciliation."""
        return self.post(self.document(owner=self.partner_cpo, **kwargs))

    def post(self, document: dict[str, Any]) -> Cdr:
        """Anatolia POSTs this CDR document to our receiver."""
        response = self.api.as_token(PARTNER_TOKEN).post(RECEIVER, document, format="json")
        assert response.json()["status_code"] == 1000, response.json()
        return Cdr.objects.get(owner=self.partner_cpo, cdr_key=document["id"].upper())

    def ours(self, **kwargs: Any) -> Cdr:
        """A CDR of ours (CPO) for one of Anatolia's drivers."""
        kwargs.setdefault("token", ("TR", "ANA", "ANA-DRIVER-1"))
        kwargs.setdefault("tariff_id", None)
        return self.store(
            self.document(owner=self.our_cpo, **kwargs), owner=self.our_cpo, received=False
        )
