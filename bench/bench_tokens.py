"""Token authorization speed with 1,000,000 tokens in PostgreSQL, exchange log on.

1. POST .../tokens/{uid}/authorize on our eMSP Sender, served by gunicorn as the Procfile runs it,
   8 concurrent clients on loopback.
2. The CPO decision for a tap at our station (token_authorize_at_station) for partner tokens
   with whitelist ALWAYS, the local path, 8 concurrent threads in-process.

Run: .venv/bin/python -m bench.bench_tokens   (BENCH_TOKENS=1000000 by default)
Prints requests/s, p50 and p99 (medians of 3 runs). Target: p99 <= 15 ms and >= 500/s.
"""

from __future__ import annotations

import base64
import io
import os
import random
import statistics
import sys
import threading
import time

from bench.common import Gunicorn, bench_database, median_of, print_figures, run_load

TOKENS = int(os.environ.get("BENCH_TOKENS", "1000000"))
PARTNER_TOKENS = 10_000
RUNS = 3


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


def bench_emsp_authorize(database_url: str) -> None:
    header = "Token " + base64.b64encode(b"bench-token").decode()
    rng = random.Random(7)

    def request(i: int):
        uid = f"TR{rng.randrange(TOKENS):010d}"
        return (
            "POST",
            f"/ocpi/emsp/2.2.1/tokens/{uid}/authorize?type=RFID",
            b'{"location_id": "LOC1"}',
            {"Authorization": header, "Content-Type": "application/json"},
        )

    server = Gunicorn(database_url)
    try:
        run_load(port=server.port, make_request=request, clients=8, requests_per_client=50)
        runs = [
            run_load(port=server.port, make_request=request, clients=8, requests_per_client=400)
            for _ in range(RUNS)
        ]
    finally:
        server.stop()
    print_figures("eMSP POST tokens/{uid}/authorize (gunicorn 4x4, 8 clients)", median_of(runs))


def bench_cpo_local_decision() -> None:
    from django.db import connection

    from apps.tokens.services import token_authorize_at_station

    def worker(latencies: list[float], count: int, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(count):
            uid = f"NL{rng.randrange(PARTNER_TOKENS):010d}"
            started = time.perf_counter()
            token_authorize_at_station(uid=uid, location_id="TR-IST-001")
            latencies.append((time.perf_counter() - started) * 1000)
        connection.close()

    runs = []
    for run in range(RUNS):
        per_thread: list[list[float]] = [[] for _ in range(8)]
        threads = [
            threading.Thread(target=worker, args=(per_thread[n], 300, run * 10 + n))
            for n in range(8)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        latencies = sorted(x for chunk in per_thread for x in chunk)
        runs.append(
            {
                "requests": len(latencies),
                "rps": len(latencies) / elapsed,
                "p50": statistics.median(latencies),
                "p99": latencies[int(len(latencies) * 0.99)],
            }
        )
    print_figures("CPO local decision, whitelist ALWAYS (in-process, 8 threads)", median_of(runs))


def main() -> None:
    database_url = bench_database("echargo_bench_tokens")
    setup_django(database_url)
    seed()
    bench_emsp_authorize(database_url)
    bench_cpo_local_decision()


if __name__ == "__main__":
    sys.exit(main())
