"""OCPI Locations sender under load: list pages of 50 at random offsets, and single locations.

Uses a dedicated PostgreSQL database (echargo_bench on the server of BENCH_ADMIN_DATABASE_URL,
postgres://postgres@127.0.0.1:5432/test by default; created and migrated if missing), fills it
once with 10,000 published locations x 3 EVSEs x 2 connectors (reused on later runs), starts
the web server as the Procfile does (uWSGI, WEB_CONCURRENCY processes, 4 when unset, x 4
threads) on a free loopback port, and drives it with 8 concurrent keep-alive clients.

List pages are measured as fast as answers come back (closed loop: the capacity) and paced at
the target's 300 pages/s (open loop, latency counted from each request's scheduled time); one
location and the versions baseline as fast as answered. 3 runs each; medians and every run are
printed. Target for list pages: >= 300 pages/s, and p99 <= 50 ms at that rate.

    .venv/bin/python -m bench.bench_locations [--requests 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import sys

from bench.common import (
    WebServer,
    bench_database,
    median_of,
    print_figures,
    run_load,
    server_cpu_meters,
)

TOKEN = "bench-partner-token-0123456789"  # noqa: S105 (a throwaway bench database)
LIST_TARGET_RPS, LIST_TARGET_P99_MS = 300, 50.0
CLIENTS = 8


# --- Data ----------------------------------------------------------------------------------------


def seed(count: int) -> int:
    """Create the bench data if missing; the number of locations partners see."""
    import django

    django.setup()
    from django.db import connection, transaction
    from simple_history.utils import bulk_create_with_history

    from apps.locations.models import EVSE, Connector, Location
    from apps.locations.selectors import location_with_children
    from apps.locations.wire import (
        LocationIn,
        connector_values,
        evse_values,
        location_document,
        location_values,
    )
    from apps.partners import token_vault
    from apps.partners.models import AccessToken, PartnerConnection, Party
    from apps.partners.services import party_upsert_own
    from echargo.ocpi.wire import validated

    owner = next(
        p
        for p in party_upsert_own(
            country_code="TR", party_id="ECH", roles=["CPO", "EMSP"], name="echargo Bench"
        )
        if p.role == "CPO"
    )
    if not AccessToken.objects.filter(token_hash=token_vault.token_hash(TOKEN)).exists():
        partner = PartnerConnection.objects.create(
            name="Bench Partner", status=PartnerConnection.Status.CONNECTED, version="2.2.1"
        )
        Party.objects.create(
            country_code="TR", party_id="BEN", role="EMSP", name="Bench", connection=partner
        )
        AccessToken.objects.create(
            connection=partner,
            kind=AccessToken.Kind.ACCESS,
            token_hash=token_vault.token_hash(TOKEN),
            token_encrypted=token_vault.encrypt(TOKEN),
        )

    have = Location.objects.filter(owner=owner).count()
    if have >= count:
        return have
    print(f"seeding {count - have} locations (once; later runs reuse them)...", flush=True)
    connector = {
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_voltage": 230,
        "max_amperage": 32,
        "tariff_ids": ["AC-STANDARD"],
        "last_updated": "2026-01-01T00:00:00Z",
    }
    template = validated(
        LocationIn,
        {
            "country_code": "TR",
            "party_id": "ECH",
            "id": "TEMPLATE",
            "publish": True,
            "name": "Bench station",
            "address": "Istiklal Caddesi 1",
            "city": "Istanbul",
            "postal_code": "34430",
            "country": "TUR",
            "coordinates": {"latitude": "41.036945", "longitude": "28.985767"},
            "parking_type": "ON_STREET",
            "time_zone": "Europe/Istanbul",
            "facilities": ["CAFE", "WIFI"],
            "opening_times": {"twentyfourseven": True},
            "evses": [
                {
                    "uid": f"E{e}",
                    "evse_id": f"TR*ECH*E{e}",
                    "status": "AVAILABLE",
                    "capabilities": ["REMOTE_START_STOP_CAPABLE", "RFID_READER"],
                    "connectors": [{**connector, "id": "1"}, {**connector, "id": "2"}],
                    "last_updated": "2026-01-01T00:00:00Z",
                }
                for e in (1, 2, 3)
            ],
            "last_updated": "2026-01-01T00:00:00Z",
        },
    )
    import datetime as dt

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    batch = 500
    for first in range(have, count, batch):
        numbers = range(first, min(first + batch, count))
        with transaction.atomic():
            locations = []
            for n in numbers:
                values = location_values({**template, "id": f"BENCH-{n:05d}"})
                values["latitude"] = f"{40.8 + (n % 100) / 250:.6f}"
                values["longitude"] = f"{28.6 + (n // 100) / 150:.6f}"
                stamp = start + dt.timedelta(seconds=n)
                locations.append(
                    Location(
                        owner=owner,
                        country_code="TR",
                        party_id="ECH",
                        own_cpo=True,
                        last_updated=stamp,
                        **values,
                    )
                )
            locations = bulk_create_with_history(locations, Location)
            locations = list(
                Location.objects.filter(location_key__in=[x.location_key for x in locations])
            )
            evses = [
                EVSE(location=loc, position=i, last_updated=loc.last_updated, **evse_values(data))
                for loc in locations
                for i, data in enumerate(template["evses"])
            ]
            bulk_create_with_history(evses, EVSE)
            evse_rows = EVSE.objects.filter(location__in=locations)
            connectors = [
                Connector(
                    evse=evse, position=i, last_updated=evse.last_updated, **connector_values(data)
                )
                for evse in evse_rows
                for i, data in enumerate(template["evses"][0]["connectors"])
            ]
            bulk_create_with_history(connectors, Connector)
            rendered = list(
                location_with_children(Location.objects.filter(pk__in=[x.pk for x in locations]))
            )
            for loc in rendered:
                loc.ocpi_json = json.dumps(location_document(loc), separators=(",", ":"))
            # ocpi_json is derived and excluded from history: a plain bulk_update loses nothing.
            Location.objects.bulk_update(rendered, ["ocpi_json"])
        print(f"  {numbers.stop}/{count}", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE locations_location")
    return Location.objects.filter(owner=owner).count()


def check_list(port: int, total: int) -> None:
    """One page read fully: 50 locations with 3 EVSEs of 2 connectors, the right total."""
    header = "Token " + base64.b64encode(TOKEN.encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "GET", "/ocpi/cpo/2.2.1/locations?offset=5000&limit=50", headers={"Authorization": header}
    )
    response = conn.getresponse()
    page = json.loads(response.read())
    problems = [
        response.status != 200 and f"HTTP {response.status}",
        page.get("status_code") != 1000 and f"status_code {page.get('status_code')}",
        len(page.get("data") or []) != 50 and "not 50 locations",
        int(response.getheader("X-Total-Count") or -1) != total and "wrong X-Total-Count",
    ]
    if any(problems) or [len(e["connectors"]) for e in page["data"][0]["evses"]] != [2, 2, 2]:
        sys.exit(f"The list does not serve the bench data: {[p for p in problems if p]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2_000, help="per scenario and run")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    url = bench_database("echargo_bench")
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "echargo.settings"})
    os.environ.pop("REDIS_URL", None)
    total = seed(args.locations)

    server = WebServer(url)
    header = {"Authorization": "Token " + base64.b64encode(TOKEN.encode()).decode()}
    rng = random.Random(7)
    per_client = {"clients": CLIENTS, "requests_per_client": args.requests // CLIENTS}

    def list_page(_: int):
        offset = rng.randrange(total - 50)
        return "GET", f"/ocpi/cpo/2.2.1/locations?offset={offset}&limit=50", None, header

    def one_location(_: int):
        location_id = f"BENCH-{rng.randrange(args.locations):05d}"
        return "GET", f"/ocpi/cpo/2.2.1/locations/{location_id}", None, header

    def versions(_: int):
        return "GET", "/ocpi/versions", None, header

    def measure(label: str, make_request, rate: float | None = None) -> dict[str, float]:
        cpu = server_cpu_meters(server)
        runs = [
            run_load(port=server.port, make_request=make_request, rate=rate, cpu=cpu, **per_client)
            for _ in range(args.runs)
        ]
        figures = median_of(runs)
        print_figures(label, figures, runs)
        return figures

    try:
        check_list(server.port, total)
        print(f"{total} locations x 3 EVSEs x 2 connectors; {server}; {CLIENTS} clients")
        run_load(port=server.port, make_request=list_page, clients=CLIENTS, requests_per_client=20)
        capacity = measure("list page of 50, as fast as answered", list_page)
        paced = measure(
            f"list page of 50, paced at {LIST_TARGET_RPS}/s", list_page, rate=LIST_TARGET_RPS
        )
        measure("one location, as fast as answered", one_location)
        # The floor of any authenticated OCPI request here (auth, exchange log, envelope).
        measure("baseline: versions, as fast as answered", versions)
        ok = capacity["rps"] >= LIST_TARGET_RPS and paced["p99"] <= LIST_TARGET_P99_MS
        print(
            f"list target (>= {LIST_TARGET_RPS} pages/s; p99 <= {LIST_TARGET_P99_MS:.0f} ms "
            "at that rate): " + ("met" if ok else "NOT met")
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
