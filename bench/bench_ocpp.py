"""OCPP 1.6J central system under load: N simulated chargers on one `ocpp_server` process.

Uses a dedicated PostgreSQL database (wt_chargers_bench on the server of
BENCH_ADMIN_DATABASE_URL; created, migrated and filled once: our parties, a tariff, N/10
locations of 10 EVSEs, N chargers, one of our drivers' tokens, a roaming partner's token).
Starts the server in a child process (as the Procfile does, on a free loopback port; with
REDIS_URL set, command wake-ups go through Redis pub/sub), and from this process:

1. connects N chargers (boot + StatusNotification Available each), heartbeats flowing meanwhile;
2. starts a transaction on every charger, then sends MeterValues paced at the target rate
   (open loop: round trip counted from each message's scheduled time) and as fast as answered
   (closed loop, one outstanding call per charger: the capacity);
3. queues staff Reset commands through charger_command_queue, as the admin does, and times
   each until the simulated charger receives it;
4. Authorize of a roaming token whose whitelist rule asks its eMSP in real time, the eMSP
   being a small HTTP server on loopback.

Targets (issue 14): 1,000 chargers; >= 500 MeterValues/s with p99 <= 50 ms; command p95 <= 1 s;
roaming Authorize p99 <= 200 ms.

Charger passwords are hashed with Django's MD5 hasher here (in the seed and the server only):
the default PBKDF2 costs ~0.3 s of CPU per first connection of a charger, which would make
this a benchmark of the hasher. The server remembers a verified password, so a reconnection
pays it only when the password changed.

    .venv/bin/python -m bench.bench_ocpp [--chargers 1000] [--rate 500] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.common import ROOT, bench_database, bench_env, cpu_seconds, host_pace_ms, postgres_pids
from tests.peer import free_port

PASSWORD = "bench-charger-password-0123"  # noqa: S105 (a throwaway bench database)
OUR_TAG = "BENCH-OUR-DRIVER"
ROAMING_TAG = "BENCH-ROAMING-1"
EVSES_PER_LOCATION = 10
FAST_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


def _django(database_url: str, redis_url: str = "") -> None:
    os.environ.update(bench_env(database_url))
    os.environ.pop("REDIS_URL", None)
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    import django

    django.setup()
    from django.conf import settings

    settings.PASSWORD_HASHERS = FAST_HASHERS


# --- The roaming partner's eMSP -------------------------------------------------------------------


class EmspHandler(BaseHTTPRequestHandler):
    """POST .../tokens/{uid}/authorize answered ALLOWED (OCPI 2.2.1 AuthorizationInfo)."""

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        body = json.dumps(
            {
                "status_code": 1000,
                "timestamp": "2026-01-01T00:00:00Z",
                "data": {
                    "allowed": "ALLOWED",
                    "authorization_reference": "REF-1",
                    "token": {
                        "country_code": "TR",
                        "party_id": "BOS",
                        "uid": ROAMING_TAG,
                        "type": "RFID",
                        "contract_id": "TR-BOS-C1",
                        "issuer": "Bosphorus",
                        "valid": True,
                        "whitelist": "ALLOWED",
                        "last_updated": "2026-01-01T00:00:00Z",
                    },
                },
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


# --- Data -----------------------------------------------------------------------------------------


def seed(count: int, emsp_url: str) -> list[str]:
    """Create what is missing; the charge point ids."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from apps.chargers.models import Charger, ChargerConnector
    from apps.locations.models import Location
    from apps.locations.services import location_upsert_own
    from apps.partners import token_vault
    from apps.partners.models import PartnerConnection, Party
    from apps.partners.services import party_upsert_own
    from apps.tariffs.models import Tariff
    from apps.tariffs.services import tariff_upsert_own
    from apps.tokens.models import Token

    cpo, emsp = party_upsert_own(
        country_code="TR", party_id="ECH", roles=["CPO", "EMSP"], name="echargo bench"
    )
    if not Tariff.objects.filter(owner=cpo, tariff_id="AC-STANDARD").exists():
        tariff_upsert_own(
            data={
                "id": "AC-STANDARD",
                "currency": "TRY",
                "elements": [
                    {
                        "price_components": [
                            {"type": "ENERGY", "price": "0.25", "vat": "20", "step_size": 1}
                        ]
                    }
                ],
            },
            owner=cpo,
            reason="bench",
        )
    now = timezone.now().isoformat()
    locations = (count + EVSES_PER_LOCATION - 1) // EVSES_PER_LOCATION
    for n in range(Location.objects.filter(owner=cpo).count(), locations):
        evses = [
            {
                "uid": f"B{n:04d}-{e}",
                "status": "AVAILABLE",
                "connectors": [
                    {
                        "id": "1",
                        "standard": "IEC_62196_T2",
                        "format": "SOCKET",
                        "power_type": "AC_3_PHASE",
                        "max_voltage": 230,
                        "max_amperage": 32,
                        "tariff_ids": ["AC-STANDARD"],
                        "last_updated": now,
                    }
                ],
                "last_updated": now,
            }
            for e in range(EVSES_PER_LOCATION)
        ]
        location_upsert_own(
            owner=cpo,
            data={
                "id": f"BENCH-{n:04d}",
                "publish": True,
                "address": "Bench 1",
                "city": "Istanbul",
                "country": "TUR",
                "coordinates": {"latitude": "41.036945", "longitude": "28.985767"},
                "time_zone": "Europe/Istanbul",
                "evses": evses,
            },
        )
    ids = [f"BENCH-CP-{n:05d}" for n in range(count)]
    known = set(
        Charger.objects.filter(charge_point_id__in=ids).values_list("charge_point_id", flat=True)
    )
    password_hash = make_password(PASSWORD, hasher="md5")
    with transaction.atomic():
        for n, charge_point_id in enumerate(ids):
            if charge_point_id in known:
                continue
            location = Location.objects.get(owner=cpo, location_id=f"BENCH-{n // 10:04d}")
            evse = location.evses.get(uid=f"B{n // 10:04d}-{n % 10}")
            charger = Charger.objects.create(
                charge_point_id=charge_point_id, location=location, password_hash=password_hash
            )
            ChargerConnector.objects.create(
                charger=charger, connector_number=1, evse=evse, connector=evse.connectors.get()
            )
    if not Token.objects.filter(uid=OUR_TAG).exists():
        Token.objects.create(
            owner=emsp,
            uid=OUR_TAG,
            type="RFID",
            contract_id="TR-ECH-B1",
            issuer="bench",
            whitelist="ALWAYS",
            last_updated=timezone.now(),
        )
    connection, _ = PartnerConnection.objects.get_or_create(
        name="Bench roaming eMSP", defaults={"status": "connected", "version": "2.2.1"}
    )
    connection.status = "connected"
    connection.endpoints = [{"identifier": "tokens", "role": "SENDER", "url": emsp_url}]
    connection.outgoing_token_encrypted = token_vault.encrypt("bench-emsp-token")
    connection.save()
    bos, _ = Party.objects.get_or_create(
        country_code="TR",
        party_id="BOS",
        role="EMSP",
        defaults={"name": "Bosphorus", "connection": connection},
    )
    if not Token.objects.filter(uid=ROAMING_TAG).exists():
        Token.objects.create(
            owner=bos,
            uid=ROAMING_TAG,
            type="RFID",
            contract_id="TR-BOS-C1",
            issuer="Bosphorus",
            whitelist="ALLOWED",
            last_updated=timezone.now(),
        )
    return ids


# --- The server (child process) -------------------------------------------------------------------


def serve(port: int) -> None:
    from apps.chargers.server import OcppServer

    server = OcppServer(host="127.0.0.1", port=port, node="bench")
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.run())
    if os.environ.get("BENCH_PROFILE"):
        profile.disable()
        profile.dump_stats(os.environ["BENCH_PROFILE"])


# --- Load -----------------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def load(
    url: str, ids: list[str], rate: float, seconds: float, server_pid: int
) -> dict[str, float]:
    import ocpp.messages

    # The simulated chargers validate in this thread: the hop to a worker thread per message
    # would cost this load generator more than the check itself.
    ocpp.messages.ASYNC_VALIDATION = False
    from asgiref.sync import sync_to_async

    from apps.chargers.models import Charger, CommandAction
    from apps.chargers.services import charger_command_queue
    from apps.chargers.simulator import connected

    figures: dict[str, float] = {}
    meters = {
        "ocpp_server": lambda: cpu_seconds([server_pid]),
        "PostgreSQL": lambda: cpu_seconds(postgres_pids()),
        "simulated chargers": time.process_time,
    }
    stack = contextlib.AsyncExitStack()
    gate = asyncio.Semaphore(50)
    chargers = []

    async def bring_up(charge_point_id: str) -> None:
        async with gate:
            cp = await stack.enter_async_context(connected(url, charge_point_id, PASSWORD))
            await cp.boot()
            await cp.status(1, "Available")
            chargers.append(cp)

    started = time.perf_counter()
    await asyncio.gather(*(bring_up(i) for i in ids))
    figures["chargers connected"] = len(chargers)
    figures["connect+boot+status, s"] = time.perf_counter() - started

    stop_heartbeats = asyncio.Event()

    async def heartbeats() -> None:
        # Each charger every ~60 s, spread evenly: N/60 heartbeats per second in the background.
        n = 0
        while not stop_heartbeats.is_set():
            await chargers[n % len(chargers)].heartbeat()
            n += 1
            await asyncio.sleep(60 / len(chargers))

    beat = asyncio.create_task(heartbeats())

    async def start(cp) -> int:
        cp.meter.energy_wh = 1_000_000
        result = await cp.start_transaction(1, OUR_TAG)
        return result.transaction_id

    t0 = time.perf_counter()
    transactions = await asyncio.gather(*(start(cp) for cp in chargers))
    figures["StartTransaction/s (all at once)"] = len(chargers) / (time.perf_counter() - t0)

    # Open loop at `rate`: message k is due at t0 + k/rate, on charger k mod N.
    latencies: list[float] = []
    total = int(rate * seconds)
    t0 = time.perf_counter()

    async def one(k: int) -> None:
        due = t0 + k / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        cp = chargers[k % len(chargers)]
        cp.meter.energy_wh += 30
        await cp.meter_values(1, transactions[k % len(chargers)], power_w=11000)
        latencies.append(time.perf_counter() - due)

    await asyncio.gather(*(one(k) for k in range(total)))
    elapsed = time.perf_counter() - t0
    figures["MeterValues paced, target/s"] = rate
    figures["MeterValues paced, achieved/s"] = total / elapsed
    figures["MeterValues paced, p50 ms"] = pct(latencies, 0.50) * 1000
    figures["MeterValues paced, p99 ms"] = pct(latencies, 0.99) * 1000

    # Closed loop: every charger sends its next MeterValues when the last one is answered.
    closed: list[float] = []
    deadline = time.perf_counter() + seconds / 2

    async def loop(index: int) -> None:
        cp = chargers[index]
        while time.perf_counter() < deadline:
            cp.meter.energy_wh += 30
            sent = time.perf_counter()
            await cp.meter_values(1, transactions[index], power_w=11000)
            closed.append(time.perf_counter() - sent)

    t0 = time.perf_counter()
    cpu_before = {name: meter() for name, meter in meters.items()}
    await asyncio.gather(*(loop(i) for i in range(len(chargers))))
    figures["MeterValues closed loop, /s"] = len(closed) / (time.perf_counter() - t0)
    for name, meter in meters.items():
        spent = meter() - cpu_before[name]
        figures[f"CPU ms per MeterValues, {name}"] = spent / max(1, len(closed)) * 1000
    figures["MeterValues closed loop, p50 ms"] = pct(closed, 0.50) * 1000
    figures["MeterValues closed loop, p99 ms"] = pct(closed, 0.99) * 1000

    # Staff Reset: queued as the admin does, timed until the charger has it.
    queue = sync_to_async(charger_command_queue, thread_sensitive=False)
    delays = []
    for cp in chargers[:: max(1, len(chargers) // 40)][:40]:
        row = await sync_to_async(Charger.objects.get)(charge_point_id=cp.id)
        before = len(cp.received_at)
        queued = time.perf_counter()
        await queue(charger=row, action=CommandAction.RESET_SOFT, requested_by="bench")
        while len(cp.received_at) == before and time.perf_counter() - queued < 10:
            await asyncio.sleep(0.002)
        if len(cp.received_at) > before:
            delays.append(cp.received_at[-1] - queued)
    figures["Reset reached the charger, of"] = len(delays)
    figures["Reset to charger p50 ms"] = pct(delays, 0.50) * 1000
    figures["Reset to charger p95 ms"] = pct(delays, 0.95) * 1000

    # Roaming Authorize (real-time request to the eMSP on loopback), ~20/s for a while.
    auth: list[float] = []
    for n in range(int(seconds * 10)):
        cp = chargers[n % len(chargers)]
        sent = time.perf_counter()
        status = await cp.authorize(ROAMING_TAG)
        auth.append(time.perf_counter() - sent)
        if status != "Accepted":
            figures["roaming Authorize not accepted"] = (
                figures.get("roaming Authorize not accepted", 0) + 1
            )
        await asyncio.sleep(0.05)
    figures["roaming Authorize p50 ms"] = pct(auth, 0.50) * 1000
    figures["roaming Authorize p99 ms"] = pct(auth, 0.99) * 1000

    stop_heartbeats.set()
    beat.cancel()
    await stack.aclose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chargers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    redis_url = os.environ.get("BENCH_REDIS_URL", "")
    if args.serve:
        _django(args.database_url, redis_url)
        serve(args.serve)
        return

    database_url = bench_database("wt_chargers_bench")
    emsp = ThreadingHTTPServer(("127.0.0.1", 0), EmspHandler)
    threading.Thread(target=emsp.serve_forever, daemon=True).start()
    emsp_url = f"http://127.0.0.1:{emsp.server_address[1]}/ocpi/emsp/2.2.1/tokens"
    _django(database_url, redis_url)
    pace = host_pace_ms()
    ids = seed(args.chargers, emsp_url)

    port = free_port()
    env = bench_env(database_url)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.bench_ocpp",
            "--serve",
            str(port),
            "--database-url",
            database_url,
        ],
        cwd=ROOT,
        env={**env, "LOG_LEVEL": "WARNING"},
    )
    try:
        time.sleep(3)
        figures = asyncio.run(
            load(f"ws://127.0.0.1:{port}/ocpp", ids, args.rate, args.seconds, server.pid)
        )
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        emsp.shutdown()
    print(f"host pace {pace:.1f} ms; command wake-ups through Redis: {bool(redis_url)}")
    for name, value in figures.items():
        print(f"  {name:<40} {value:10.1f}")
    print(
        "  targets: 1000 chargers, >= 500 MeterValues/s with p99 <= 50 ms, "
        "Reset p95 <= 1000 ms, roaming Authorize p99 <= 200 ms"
    )


if __name__ == "__main__":
    main()
