"""Remote START_SESSION -> the charger receives RemoteStartTransaction (issue 15: p95 <= 2 s).

A roaming eMSP (a small HTTP server on loopback, TR*BOS) posts START_SESSION to our CPO
commands Receiver on the Procfile's web server (uWSGI); the receiver authorizes the token in
real time with that eMSP, queues RemoteStartTransaction through the charger gateway, and the
`ocpp_server` process (a child, as the Procfile runs it) sends it to a simulated charger
connected over a real WebSocket. Timed from the moment the POST leaves until the charger has
the call; the CommandResponse's own round trip is printed beside it.

With BENCH_REDIS_URL set, the web process wakes the ocpp_server through Redis pub/sub (as in
production); without it the server finds the command on its next poll (OCPP_COMMAND_POLL_SECONDS,
1 s by default), which is what the figures then show.

Uses the bench database of bench_ocpp (wt_chargers_bench; created, migrated, seeded once).

    .venv/bin/python -m bench.bench_remote_start [--samples 40] [--burst 20]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from http.server import ThreadingHTTPServer

import requests

from bench.bench_ocpp import PASSWORD, ROAMING_TAG, EmspHandler, _django, pct, seed
from bench.common import ROOT, bench_database, bench_env, host_pace_ms
from tests.peer import free_port, web_server_command

CALLER_TOKEN = "bench-emsp-calls-us"  # noqa: S105 (a throwaway bench database)
TOKEN = {
    "country_code": "TR",
    "party_id": "BOS",
    "uid": ROAMING_TAG,
    "type": "RFID",
    "contract_id": "TR-BOS-C1",
    "issuer": "Bosphorus",
    "valid": True,
    "whitelist": "ALLOWED",
    "last_updated": "2026-01-01T00:00:00Z",
}


def prepare(emsp_base: str) -> None:
    """The roaming eMSP may call us, and announces where its command results go."""
    from apps.partners import token_vault
    from apps.partners.models import AccessToken, OutboxMessage, PartnerConnection

    connection = PartnerConnection.objects.get(name="Bench roaming eMSP")
    connection.endpoints = [
        {"identifier": "tokens", "role": "SENDER", "url": f"{emsp_base}/tokens"},
        {"identifier": "commands", "role": "SENDER", "url": f"{emsp_base}/commands"},
    ]
    connection.save()
    # Results of earlier runs went to that run's stub, gone now: not retried into this run.
    OutboxMessage.objects.filter(
        connection=connection, status__in=("pending", "delivering")
    ).update(status="superseded")
    hashed = token_vault.token_hash(CALLER_TOKEN)
    if not AccessToken.objects.filter(token_hash=hashed).exists():
        AccessToken.objects.create(
            connection=connection,
            kind=AccessToken.Kind.ACCESS,
            token_hash=hashed,
            token_encrypted=token_vault.encrypt(CALLER_TOKEN),
        )


def post(web_url: str, header: dict, emsp_base: str, n: int) -> tuple[float, dict]:
    """One START_SESSION for bench charger n; (wall time it left, the envelope)."""
    body = {
        "response_url": f"{emsp_base}/commands/START_SESSION/bench-{n}-{time.time_ns()}",
        "token": TOKEN,
        "location_id": f"BENCH-{n // 10:04d}",
        "evse_uid": f"B{n // 10:04d}-{n % 10}",
    }
    sent = time.time()
    answer = requests.post(
        f"{web_url}/ocpi/cpo/2.2.1/commands/START_SESSION", json=body, headers=header, timeout=10
    )
    return sent, answer.json()


class EmspServer(ThreadingHTTPServer):
    # The default listen backlog (5) drops the SYNs of a burst of real-time authorizations,
    # which then wait for TCP's 1 s and 3 s retransmits: a figure of this stub, not of echargo.
    request_queue_size = 128
    daemon_threads = True


class Web:
    def __init__(self, database_url: str, redis_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        extra = {"OCPI_BASE_URL": self.url, **({"REDIS_URL": redis_url} if redis_url else {})}
        self.process = subprocess.Popen(
            web_server_command(self.port, processes=2),
            cwd=ROOT,
            env=bench_env(database_url, **extra),
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the web server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


async def load(ocpp_url: str, web_url: str, emsp_base: str, ids: list[str], args) -> dict:
    import ocpp.messages

    ocpp.messages.ASYNC_VALIDATION = False
    from apps.chargers.simulator import connected

    header = {
        "Authorization": "Token " + base64.b64encode(CALLER_TOKEN.encode()).decode(),
        # uWSGI's http11-socket keeps a thread on an idle kept-alive connection for up to its
        # socket timeout (4 s): a burst on pooled connections would measure that wait, not us.
        "Connection": "close",
    }
    loop = asyncio.get_running_loop()
    figures: dict[str, float] = {}
    stack = contextlib.AsyncExitStack()
    chargers = []
    for charge_point_id in ids:
        cp = await stack.enter_async_context(connected(ocpp_url, charge_point_id, PASSWORD))
        await cp.boot()
        await cp.status(1, "Available")
        chargers.append(cp)
    await asyncio.sleep(1)  # the server records each connection (commands are routed by it)

    # The POSTs leave from other processes: in this one, the simulated chargers' event loop
    # and the eMSP stub hold the GIL, and a burst of requests would queue behind them.
    procs = ProcessPoolExecutor(max_workers=max(4, args.burst))
    wall_to_perf = time.perf_counter() - time.time()

    async def one(n: int) -> tuple[float | None, float, str]:
        cp = chargers[n]
        before = len(cp.received_at)
        started = time.perf_counter()
        sent_wall, envelope = await loop.run_in_executor(procs, post, web_url, header, emsp_base, n)
        sent = sent_wall + wall_to_perf
        answered = time.perf_counter() - started
        result = (envelope.get("data") or {}).get("result", str(envelope.get("status_code")))
        deadline = time.perf_counter() + 15
        while len(cp.received_at) == before and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)  # 10 ms resolution: a tighter poll starves the stub
        reached = cp.received_at[-1] - sent if len(cp.received_at) > before else None
        return reached, answered, result

    sequential = [await one(n) for n in range(args.samples)]
    burst = await asyncio.gather(*(one(args.samples + n) for n in range(args.burst)))
    for name, rows in (("one at a time", sequential), (f"{args.burst} at once", burst)):
        reached = [r for r, _, _ in rows if r is not None]
        figures[f"{name}: reached the charger, of {len(rows)}"] = len(reached)
        figures[f"{name}: not ACCEPTED"] = sum(1 for _, _, res in rows if res != "ACCEPTED")
        figures[f"{name}: CommandResponse p50 ms"] = pct([a for _, a, _ in rows], 0.5) * 1000
        figures[f"{name}: START_SESSION -> RemoteStart p50 ms"] = pct(reached, 0.5) * 1000
        figures[f"{name}: START_SESSION -> RemoteStart p95 ms"] = pct(reached, 0.95) * 1000
    await asyncio.sleep(1)  # the simulated chargers' StartTransactions
    await stack.aclose()
    procs.shutdown()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--burst", type=int, default=20)
    args = parser.parse_args()
    redis_url = os.environ.get("BENCH_REDIS_URL", "")
    database_url = bench_database("wt_chargers_bench")
    emsp = EmspServer(("127.0.0.1", 0), EmspHandler)
    threading.Thread(target=emsp.serve_forever, daemon=True).start()
    emsp_base = f"http://127.0.0.1:{emsp.server_address[1]}/ocpi/emsp/2.2.1"
    _django(database_url, redis_url)
    pace = host_pace_ms()
    count = args.samples + args.burst
    ids = seed(count, f"{emsp_base}/tokens")[:count]
    prepare(emsp_base)

    port = free_port()
    extra = {"LOG_LEVEL": "WARNING", **({"REDIS_URL": redis_url} if redis_url else {})}
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
        env={
            **bench_env(database_url),
            **extra,
            **({"BENCH_REDIS_URL": redis_url} if redis_url else {}),
        },
    )
    web = Web(database_url, redis_url)
    try:
        time.sleep(3)
        figures = asyncio.run(load(f"ws://127.0.0.1:{port}/ocpp", web.url, emsp_base, ids, args))
    finally:
        web.stop()
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        emsp.shutdown()
    print(f"host pace {pace:.1f} ms; command wake-ups through Redis: {bool(redis_url)}")
    for name, value in figures.items():
        print(f"  {name:<58} {value:10.1f}")
    print("  target: START_SESSION -> RemoteStartTransaction p95 <= 2000 ms")


if __name__ == "__main__":
    main()
