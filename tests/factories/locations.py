"""OCPI 2.2.1 Location / EVSE / Connector dicts, valid on the wire by default, and our own
locations created through the services (so their documents and pushes are real)."""

from __future__ import annotations

import factory

from apps.locations.models import Location
from apps.locations.services import location_upsert_own
from apps.partners.models import Party


class ConnectorData(factory.DictFactory):
    id = "1"
    standard = "IEC_62196_T2"
    format = "SOCKET"
    power_type = "AC_3_PHASE"
    max_voltage = 230
    max_amperage = 32
    tariff_ids = factory.LazyFunction(lambda: ["AC-STANDARD"])
    last_updated = "2026-01-10T08:00:00Z"


class EVSEData(factory.DictFactory):
    uid = factory.Sequence(lambda n: f"EVSE-{n:05d}")
    evse_id = factory.LazyAttribute(lambda e: f"TR*ECH*E{e.uid[-5:]}")
    status = "AVAILABLE"
    capabilities = factory.LazyFunction(lambda: ["REMOTE_START_STOP_CAPABLE", "RFID_READER"])
    connectors = factory.LazyFunction(lambda: [ConnectorData()])
    last_updated = "2026-01-10T08:00:00Z"


class LocationData(factory.DictFactory):
    country_code = "TR"
    party_id = "ECH"
    id = factory.Sequence(lambda n: f"LOC-{n:05d}")
    publish = True
    name = factory.Sequence(lambda n: f"Station {n}")
    address = "Istiklal Caddesi 1"
    city = "Istanbul"
    postal_code = "34430"
    country = "TUR"
    coordinates = factory.LazyFunction(lambda: {"latitude": "41.036945", "longitude": "28.985767"})
    parking_type = "ON_STREET"
    evses = factory.LazyFunction(lambda: [EVSEData()])
    time_zone = "Europe/Istanbul"
    last_updated = "2026-01-10T08:00:00Z"


def own_location(owner: Party, **overrides: object) -> Location:
    """One of our locations, created through location_upsert_own (documents, pushes)."""
    data = LocationData(country_code=owner.country_code, party_id=owner.party_id, **overrides)
    return location_upsert_own(owner=owner, data=data)
