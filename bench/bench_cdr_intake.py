"""CDR intake speed: POST /ocpi/emsp/2.2.1/cdrs on our eMSP receiver, served as the Procfile's web
process runs (uWSGI, WEB_CONCURRENCY processes, 4 when unset, x uwsgi.ini's threads), 8
concurrent clients on loopback, exchange log on. Every request is a new CDR (a new id), so
each one is validated, stored with its history row, and handed to `cdr_received` (and so to
reconciliation when apps.settlement is installed: the script says whether it is).

3 runs as fast as answers come back (closed loop: the capacity); prints CDRs/s, p50 and p99
(median of the runs, each run listed) and the CPU each CDR cost the web server and PostgreSQL.
A last run re-sends CDRs already stored (the idempotent path). Target: >= 200 CDRs/s.

Run: .venv/bin/python -m bench.bench_cdr_intake   (WEB_CONCURRENCY=2: one process per core)
"""

from __future__ import annotations

import base64
import json
import os
import sys
import uuid

from bench.common import (
    WebServer,
    bench_database,
    median_of,
    print_figures,
    run_load,
    server_cpu_meters,
)

RUNS = 3
CLIENTS = 8
PER_CLIENT = 150  # 1,200 CDRs a run
TARGET_RPS = 200


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echargo.settings")
    import django

    django.setup()


def seed() -> None:
    """Our parties, one CPO partner NL*BNC posting CDRs for our drivers, one of our tokens."""
    from apps.partners.models import Party
    from apps.partners.services import party_upsert_own
    from apps.tokens.models import Token
    from tests.factories.partners import PartnerConnectionFactory, PartyFactory, issue_token
    from tests.factories.tokens import TokenFactory

    party_upsert_own(country_code="TR", party_id="ECH", roles=["CPO", "EMSP"], name="Bench")
    if not Party.objects.filter(party_id="BNC").exists():
        partner = PartnerConnectionFactory(name="Bench CPO")
        PartyFactory(country_code="NL", party_id="BNC", role="CPO", connection=partner)
        issue_token(partner, "bench-cdr-token")
    if not Token.objects.filter(uid="04BENCH").exists():
        emsp = Party.objects.get(is_own=True, role="EMSP")
        TokenFactory(owner=emsp, country_code="TR", party_id="ECH", uid="04BENCH")


def cdr_body(cdr_id: str) -> bytes:
    from tests.factories.cdrs import CdrData, CdrTokenData

    data = CdrData(
        country_code="NL", party_id="BNC", id=cdr_id, cdr_token=CdrTokenData(uid="04BENCH")
    )
    return json.dumps(data, default=float).encode()


def reconciliation_state() -> str:
    from django.apps import apps

    if apps.is_installed("apps.settlement"):
        return "reconciliation ON (apps.settlement installed)"
    return "reconciliation OFF: the settlement branch is not merged here"


def main() -> None:
    database_url = bench_database("echargo_bench_cdrs")
    setup_django(database_url)
    seed()
    header = "Token " + base64.b64encode(b"bench-cdr-token").decode()
    run_tag = uuid.uuid4().hex[:8].upper()
    bodies = {}

    def request(i: int, prefix: str = "") -> tuple[str, str, bytes, dict[str, str]]:
        key = f"{prefix}{run_tag}-{i:06d}"
        if key not in bodies:
            bodies[key] = cdr_body(key)
        return (
            "POST",
            "/ocpi/emsp/2.2.1/cdrs",
            bodies[key],
            {
                "Authorization": header,
                "Content-Type": "application/json",
                "X-Request-ID": str(uuid.uuid4()),
                "X-Correlation-ID": str(uuid.uuid4()),
            },
        )

    # Bodies built up front: the load generator must not spend the run rendering them.
    for run in range(RUNS + 1):
        for i in range(CLIENTS * PER_CLIENT):
            request(i, f"R{run}")
    server = WebServer(database_url)
    label = f"eMSP POST cdrs, a new CDR each ({server}, {CLIENTS} clients"
    print(reconciliation_state(), flush=True)
    try:
        # Warm-up: every worker thread opens its connection and prepares its statements.
        run_load(
            port=server.port,
            make_request=lambda i: request(i, "W"),
            clients=CLIENTS,
            requests_per_client=40,
        )
        cpu = server_cpu_meters(server)
        runs = [
            run_load(
                port=server.port,
                make_request=lambda i, run=run: request(i, f"R{run}"),
                clients=CLIENTS,
                requests_per_client=PER_CLIENT,
                cpu=cpu,
            )
            for run in range(RUNS)
        ]
        again = run_load(
            port=server.port,
            make_request=lambda i: request(i, "R0"),
            clients=CLIENTS,
            requests_per_client=PER_CLIENT,
            cpu=cpu,
        )
    finally:
        server.stop()
    figures = median_of(runs)
    print_figures(f"{label}, as fast as answered)", figures, runs)
    print_figures(f"{label.replace('a new CDR each', 'duplicates re-sent')})", again)
    print(
        f"  target (>= {TARGET_RPS} CDRs/s): "
        + ("met" if figures["rps"] >= TARGET_RPS else "NOT met"),
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
