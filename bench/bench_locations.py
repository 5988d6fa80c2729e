"""OCPI Locations sender under load: list pages of 50 at random offsets, and single locations.

Uses the PostgreSQL server of DATABASE_URL with a dedicated database (echargo_bench, created and
migrated if missing), fills it once with 10,000 published locations x 3 EVSEs x 2 connectors
(reused on later runs), starts gunicorn as the Procfile does (4 workers x 4 threads) on a free
loopback port, and drives it with 8 concurrent client processes over keep-alive connections.
Each scenario runs 3 times with a bounded number of requests; the median run is printed.
Targets for list pages: >= 300 pages/s and p99 <= 50 ms.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/bench_locations.py
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "bench-partner-token-0123456789"  # noqa: S105 (a throwaway bench database)
LIST_TARGET_RPS, LIST_TARGET_P99_MS = 300, 50.0


# --- Database ------------------------------------------------------------------------------------


def bench_url(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("postgres", "postgresql"):
        sys.exit("DATABASE_URL must point at a PostgreSQL server.")
    return urlunsplit(parts._replace(path=f"/{name}"))


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = urlunsplit(parts._replace(path="/postgres", scheme="postgresql"))
    with psycopg.connect(server, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def run_manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


# --- Data ----------------------------------------------------------------------------------------


def seed(count: int) -> int:
    """Create the bench data if missing; the number of locations partners see."""
    import django

    django.setup()
    from django.db import connection, transaction
    from simple_history.utils import bulk_create_with_history

    from apps.locations.models import EVSE, Connector, Location
    from apps.locations.store import with_children
    from apps.locations.wire import (
        LocationIn,
        connector_values,
        evse_values,
        location_document,
        location_values,
        validated,
    )
    from apps.partners import token_vault
    from apps.partners.models import AccessToken, PartnerConnection, Party
    from apps.partners.services import party_upsert_own

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
                with_children(Location.objects.filter(pk__in=[x.pk for x in locations]))
            )
            for loc in rendered:
                loc.ocpi_json = json.dumps(location_document(loc), separators=(",", ":"))
            # ocpi_json is derived and excluded from history: a plain bulk_update loses nothing.
            Location.objects.bulk_update(rendered, ["ocpi_json"])
        print(f"  {numbers.stop}/{count}", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE locations_location")
    return Location.objects.filter(owner=owner).count()


# --- Server --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "echargo.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "4",
            "--threads",
            "4",
            "--timeout",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/ocpi/versions")
            conn.getresponse().read()
            return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    sys.exit(f"gunicorn did not start:\n{log.read_text()}")


# --- Load ----------------------------------------------------------------------------------------


def _client(args: tuple[int, list[str], str]) -> list[float]:
    """One client: its requests in order over a keep-alive connection; latencies in ms."""
    port, paths, header = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies = []
    for path in paths:
        for attempt in (1, 2):
            try:
                start = time.perf_counter()
                conn.request("GET", path, headers={"Authorization": header})
                response = conn.getresponse()
                body = response.read()
                latencies.append((time.perf_counter() - start) * 1000)
                break
            except (http.client.HTTPException, OSError):
                # The server closed an idle keep-alive connection: reconnect once.
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                if attempt == 2:
                    raise
        if response.status != 200 or not body.startswith(b'{"data":'):
            raise RuntimeError(f"GET {path}: HTTP {response.status} {body[:200]!r}")
    conn.close()
    return latencies


@dataclass
class Run:
    rps: float
    p50: float
    p99: float


def run_load(port: int, paths: list[str], clients: int) -> Run:
    header = "Token " + base64.b64encode(TOKEN.encode()).decode()
    shares = [(port, paths[i::clients], header) for i in range(clients)]
    with multiprocessing.Pool(clients) as pool:
        pool.map(_client, [(port, share[1][:5], header) for share in shares])  # warm up
        start = time.perf_counter()
        results = pool.map(_client, shares)
        seconds = time.perf_counter() - start
    latencies = sorted(ms for result in results for ms in result)
    return Run(
        rps=len(latencies) / seconds,
        p50=statistics.median(latencies),
        p99=statistics.quantiles(latencies, n=100)[98],
    )


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
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", default="echargo_bench")
    args = parser.parse_args()

    base = os.environ.get("DATABASE_URL")
    if not base:
        sys.exit(
            "Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres"
        )
    url = bench_url(base, args.database)
    ensure_database(url)
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "echargo.settings",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "echargo.settings"})
    os.environ.pop("REDIS_URL", None)
    run_manage(env, "migrate", "--noinput", "-v", "0")
    total = seed(args.locations)

    port = free_port()
    log = Path("/tmp") / f"bench_locations_gunicorn_{port}.log"  # noqa: S108 (bench scratch)
    server = start_gunicorn(env, port, log)
    try:
        check_list(port, total)
        rng = random.Random(7)
        ids = [f"BENCH-{n:05d}" for n in range(args.locations)]
        scenarios = {
            "list page of 50": lambda: [
                f"/ocpi/cpo/2.2.1/locations?offset={rng.randrange(total - 50)}&limit=50"
                for _ in range(args.requests)
            ],
            "one location": lambda: [
                f"/ocpi/cpo/2.2.1/locations/{rng.choice(ids)}" for _ in range(args.requests)
            ],
            # The floor of any authenticated OCPI request here (auth, exchange log, envelope).
            "baseline: versions": lambda: ["/ocpi/versions"] * args.requests,
        }
        print(
            f"{total} locations x 3 EVSEs x 2 connectors; gunicorn 4 workers x 4 threads; "
            f"{args.clients} clients; {args.requests} requests per run; {args.runs} runs"
        )
        print(f"{'scenario':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}   (median run)")
        medians = {}
        for name, make_paths in scenarios.items():
            runs = [run_load(port, make_paths(), args.clients) for _ in range(args.runs)]
            median = sorted(runs, key=lambda r: r.rps)[len(runs) // 2]
            medians[name] = median
            detail = ", ".join(f"{r.rps:.0f}/s p99 {r.p99:.1f}" for r in runs)
            print(f"{name:<18} {median.rps:8.0f} {median.p50:8.1f} {median.p99:8.1f}   [{detail}]")
        lists = medians["list page of 50"]
        ok = lists.rps >= LIST_TARGET_RPS and lists.p99 <= LIST_TARGET_P99_MS
        print(
            f"list target (>= {LIST_TARGET_RPS} pages/s, p99 <= {LIST_TARGET_P99_MS:.0f} ms): "
            + ("met" if ok else "NOT met")
        )
    finally:
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    main()
