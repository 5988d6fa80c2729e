"""Token authorization speed with 1,000,000 tokens in PostgreSQL, exchange log on.

1. POST .../tokens/{uid}/authorize on our eMSP Sender, served as the Procfile's web process runs
   (uWSGI, WEB_CONCURRENCY processes, 4 when unset, x 4 threads), 8 concurrent clients on loopback.
2. The CPO decision for a tap at our station (token_authorize_at_station) for partner tokens
   with whitelist ALWAYS, the local path, 8 concurrent threads in-process.

Each is measured twice, 5 runs each: as fast as answers come back (closed loop: the capacity),
and paced at the target's 500/s (open loop, latency counted from each request's scheduled
time). Prints requests/s, p50 and p99 (median of the runs, each run listed), and the CPU each
request cost the web server, PostgreSQL and the load generator: unlike latency, that does not
grow with queueing, so it compares code on a noisy machine (read it beside each run's `pace`).
Target: >= 500/s, and p99 <= 15 ms at that rate.

Run: .venv/bin/python -m bench.bench_tokens   (BENCH_TOKENS=1000000 by default;
     WEB_CONCURRENCY=2 for one process per core on this 2-core machine)
"""

from __future__ import annotations

import base64
import io
import os
import random
import sys
import time
import uuid

from bench.common import (
    WebServer,
    bench_database,
    cpu_seconds,
    drive,
    median_of,
    postgres_pids,
    print_figures,
    run_load,
    server_cpu_meters,
)

TOKENS = int(os.environ.get("BENCH_TOKENS", "1000000"))
PARTNER_TOKENS = 10_000
RUNS = 5
CLIENTS = 8
TARGET_RPS, TARGET_P99_MS = 500, 15.0
PER_RUN = {"requests_per_client": 400}  # 3,200 requests a run
CALLS_PER_RUN = {"calls_per_client": 400}


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echargo.settings")
    import django

    django.setup()


def seed() -> None:
    """Our parties, one CPO partner calling us, and the tokens (COPY: 1M rows in seconds)."""
    from django.db import connection
    from django.utils import timezone

    from apps.partners.models import Party
    from apps.partners.services import party_upsert_own
    from apps.tokens.models import Token
    from tests.factories.partners import PartnerConnectionFactory, PartyFactory, issue_token

    party_upsert_own(country_code="TR", party_id="ECH", roles=["CPO", "EMSP"], name="Bench")
    our_emsp = Party.objects.get(is_own=True, role="EMSP")
    if not Party.objects.filter(party_id="BNC").exists():
        partner = PartnerConnectionFactory(name="Bench CPO")
        PartyFactory(country_code="NL", party_id="BNC", role="CPO", connection=partner)
        PartyFactory(country_code="NL", party_id="BNE", role="EMSP", connection=partner)
        issue_token(partner, "bench-token")
    partner_emsp = Party.objects.get(party_id="BNE", role="EMSP")
    now = timezone.now().isoformat()
    for owner, count, prefix, whitelist in (
        (our_emsp, TOKENS, "TR", "ALLOWED"),
        (partner_emsp, PARTNER_TOKENS, "NL", "ALWAYS"),
    ):
        have = Token.objects.filter(owner=owner).count()
        if have >= count:
            continue
        print(f"seeding {count - have} tokens for {owner} ...", flush=True)
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy(
                "COPY tokens_token (owner_id, country_code, party_id, uid, uid_key, type, "
                "contract_id, visual_number, issuer, group_id, valid, whitelist, language, "
                "default_profile_type, last_updated) FROM STDIN"
            ) as copy,
        ):
            buffer = io.StringIO()
            for n in range(have, count):
                uid = f"{prefix}{n:010d}"
                buffer.write(
                    f"{owner.pk}\t{owner.country_code}\t{owner.party_id}\t{uid}\t{uid}\t"
                    f"RFID\t{prefix}-X-C{n:08d}\t\tBench\t\t{n % 10 != 0}\t{whitelist}"
                    f"\t\t\t{now}\n"
                )
                if n % 50_000 == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE tokens_token")
        print(
            f"  {count - have} rows in {time.perf_counter() - started:.1f} s "
            f"({(count - have) / (time.perf_counter() - started):.0f} rows/s)",
            flush=True,
        )


def settle(database_url: str) -> None:
    """Start from a steady database: the bulk load's dirty pages written, statistics fresh
    (otherwise the checkpoint and autovacuum that follow a 1M-row COPY land in the runs)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) tokens_token")
        conn.execute("CHECKPOINT")


def bench_emsp_authorize(database_url: str) -> None:
    header = "Token " + base64.b64encode(b"bench-token").decode()
    rng = random.Random(7)

    def request(i: int):
        uid = f"TR{rng.randrange(TOKENS):010d}"
        return (
            "POST",
            f"/ocpi/emsp/2.2.1/tokens/{uid}/authorize?type=RFID",
            b'{"location_id": "LOC1"}',
            {
                "Authorization": header,
                "Content-Type": "application/json",
                # Random ids, as a partner CPO sends them (OCPI 2.2.1 requires both headers).
                "X-Request-ID": str(uuid.uuid4()),
                "X-Correlation-ID": str(uuid.uuid4()),
            },
        )

    server = WebServer(database_url)
    label = f"eMSP POST tokens/{{uid}}/authorize ({server}, {CLIENTS} clients"
    try:
        # Warm-up: every worker thread opens its database connection and gets its statements
        # prepared (psycopg prepares on the 5th run of a statement), so runs measure the steady
        # state rather than start-up.
        run_load(port=server.port, make_request=request, clients=CLIENTS, requests_per_client=200)
        load = {"port": server.port, "make_request": request, "clients": CLIENTS, **PER_RUN}
        cpu = server_cpu_meters(server)
        capacity = [run_load(**load, cpu=cpu) for _ in range(RUNS)]
        paced = [run_load(**load, rate=TARGET_RPS, cpu=cpu) for _ in range(RUNS)]
    finally:
        server.stop()
    report(label, capacity, paced)


def bench_cpo_local_decision() -> None:
    from django.db import connection

    from apps.tokens.station_authorization import token_authorize_at_station

    rngs = [random.Random(n) for n in range(CLIENTS)]

    def tap(client: int, n: int) -> None:
        uid = f"NL{rngs[client].randrange(PARTNER_TOKENS):010d}"
        token_authorize_at_station(uid=uid, location_id="TR-IST-001")

    drive(tap, clients=CLIENTS, calls_per_client=50)  # warm-up: a connection per thread
    # The decision runs in this process: its CPU is the decision's plus the driving threads'.
    cpu = {"process": time.process_time, "db": lambda: cpu_seconds(postgres_pids())}
    capacity = [drive(tap, clients=CLIENTS, cpu=cpu, **CALLS_PER_RUN) for _ in range(RUNS)]
    paced = [
        drive(tap, clients=CLIENTS, rate=TARGET_RPS, cpu=cpu, **CALLS_PER_RUN) for _ in range(RUNS)
    ]
    connection.close()
    report(f"CPO local decision, whitelist ALWAYS (in-process, {CLIENTS} threads", capacity, paced)


def report(label: str, capacity: list[dict], paced: list[dict]) -> None:
    """Capacity (closed loop) and latency at the target rate (open loop), medians of the runs."""
    at_most, at_rate = median_of(capacity), median_of(paced)
    print_figures(f"{label}, as fast as answered)", at_most, capacity)
    print_figures(f"{label}, paced at {TARGET_RPS}/s)", at_rate, paced)
    ok = at_most["rps"] >= TARGET_RPS and at_rate["p99"] <= TARGET_P99_MS
    print(
        f"  target (>= {TARGET_RPS}/s; p99 <= {TARGET_P99_MS:.0f} ms at that rate): "
        + ("met" if ok else "NOT met"),
        flush=True,
    )


def main() -> None:
    database_url = bench_database("echargo_bench_tokens")
    setup_django(database_url)
    seed()
    settle(database_url)
    bench_emsp_authorize(database_url)
    bench_cpo_local_decision()


if __name__ == "__main__":
    sys.exit(main())
