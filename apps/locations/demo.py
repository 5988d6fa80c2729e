"""Demo stations of our own CPO in Istanbul and Ankara (for `manage.py seed_demo`)."""

from __future__ import annotations

from typing import Any

from apps.partners.models import Party

from .models import Location
from .services import evse_status_set, location_upsert_own


def _ac(uid: str, evse_id: str) -> dict[str, Any]:
    return {
        "uid": uid,
        "evse_id": evse_id,
        "status": "AVAILABLE",
        "capabilities": ["REMOTE_START_STOP_CAPABLE", "RFID_READER"],
        "connectors": [
            {
                "id": "1",
                "standard": "IEC_62196_T2",
                "format": "SOCKET",
                "power_type": "AC_3_PHASE",
                "max_voltage": 230,
                "max_amperage": 32,
                "max_electric_power": 22000,
                "tariff_ids": ["TR-AC-STANDARD"],
            }
        ],
    }


def _dc(uid: str, evse_id: str, kw: int) -> dict[str, Any]:
    return {
        "uid": uid,
        "evse_id": evse_id,
        "status": "AVAILABLE",
        "capabilities": ["REMOTE_START_STOP_CAPABLE", "RFID_READER", "CREDIT_CARD_PAYABLE"],
        "connectors": [
            {
                "id": "1",
                "standard": "IEC_62196_T2_COMBO",
                "format": "CABLE",
                "power_type": "DC",
                "max_voltage": 920,
                "max_amperage": 400 if kw > 100 else 125,
                "max_electric_power": kw * 1000,
                "tariff_ids": ["TR-DC-FAST"],
            },
            {
                "id": "2",
                "standard": "CHADEMO",
                "format": "CABLE",
                "power_type": "DC",
                "max_voltage": 500,
                "max_amperage": 125,
                "max_electric_power": 50000,
                "tariff_ids": ["TR-DC-FAST"],
            },
        ],
    }


def _station(
    location_id: str, name: str, address: str, city: str, postal_code: str, lat: str, lon: str
) -> dict[str, Any]:
    return {
        "id": location_id,
        "publish": True,
        "name": name,
        "address": address,
        "city": city,
        "postal_code": postal_code,
        "country": "TUR",
        "coordinates": {"latitude": lat, "longitude": lon},
        "parking_type": "ON_STREET",
        "time_zone": "Europe/Istanbul",
        "opening_times": {"twentyfourseven": True},
        "facilities": ["CAFE"],
    }


DEMO_STATIONS = [
    {
        **_station(
            "IST-TAKSIM",
            "Taksim Meydanı",
            "Taksim Meydanı 1",
            "İstanbul",
            "34435",
            "41.036945",
            "28.985767",
        ),
        "evses": [_ac("IST-TAKSIM-1", "TR*ECH*E0001001"), _ac("IST-TAKSIM-2", "TR*ECH*E0001002")],
    },
    {
        **_station(
            "IST-KADIKOY",
            "Kadıköy İskele",
            "Rıhtım Caddesi 2",
            "İstanbul",
            "34716",
            "40.990522",
            "29.023062",
        ),
        "evses": [_dc("IST-KADIKOY-1", "TR*ECH*E0002001", 50)],
    },
    {
        **_station(
            "IST-AIRPORT",
            "İstanbul Havalimanı Otopark",
            "Tayakadın Terminal Caddesi 1",
            "İstanbul",
            "34283",
            "41.262174",
            "28.742711",
        ),
        "parking_type": "PARKING_GARAGE",
        "evses": [_dc("IST-AIRPORT-1", "TR*ECH*E0003001", 150)],
    },
    {
        **_station(
            "ANK-KIZILAY",
            "Kızılay Meydanı",
            "Atatürk Bulvarı 99",
            "Ankara",
            "06420",
            "39.920770",
            "32.854110",
        ),
        "evses": [_ac("ANK-KIZILAY-1", "TR*ECH*E0004001"), _ac("ANK-KIZILAY-2", "TR*ECH*E0004002")],
    },
    {
        **_station(
            "ANK-ATAKULE",
            "Atakule",
            "Çankaya Caddesi 1",
            "Ankara",
            "06690",
            "39.886030",
            "32.855460",
        ),
        "evses": [_dc("ANK-ATAKULE-1", "TR*ECH*E0005001", 150)],
    },
]


# Status changes made right after a station is created, so the EVSE's history and the pushes
# show what a charger would report: (location, EVSE, status, reason).
DEMO_STATUS_CHANGES = [
    ("IST-KADIKOY", "IST-KADIKOY-1", "CHARGING", "Demo: a driver started charging"),
    ("ANK-KIZILAY", "ANK-KIZILAY-2", "OUTOFORDER", "Demo: connector damaged, awaiting repair"),
]


def demo_locations_seed(*, owner: Party) -> int:
    """Create the demo stations we do not have yet (existing ones, maybe edited, stay)."""
    created = []
    for station in DEMO_STATIONS:
        exists = Location.objects.filter(
            country_code=owner.country_code, party_id=owner.party_id, location_key=station["id"]
        ).exists()
        if not exists:
            created.append(location_upsert_own(owner=owner, data=station, reason="Demo data"))
    for location in created:
        for location_id, evse_uid, status, reason in DEMO_STATUS_CHANGES:
            if location.location_id == location_id:
                evse_status_set(location=location, evse_uid=evse_uid, status=status, reason=reason)
    return len(created)
