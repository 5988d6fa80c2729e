"""Session PATCH receiver speed: PATCH /ocpi/emsp/2.2.1/sessions/NL/BNC/{id} on our eMSP
receiver, served as the Procfile's web process runs (uWSGI, WEB_CONCURRENCY processes, 4 when
unset, x uwsgi.ini's threads), 8 concurrent clients on loopback, exchange log on.

Each client updates its own session (a partner CPO's running session, PUT once before the
runs) with the PATCH a CPO sends on every meter reading: kwh, total_cost and a newer
last_updated, so every request is applied (row locked, ordering checked, history row written);
none is stale. 3 runs as fast as answers come back (closed loop: the capacity); prints
PATCHes/s, p50 and p99 (median of the runs, each run listed) and the CPU each PATCH cost the web
server and PostgreSQL. Target: >= 300 PATCHes/s.

Run: .venv/bin/python -m bench.bench_session_patch   (WEB_CONCURRENCY=2: one process per core)
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import uuid
from pathlib import Path

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
PER_CLIENT = 200  # 1,600 PATCHes a run
TARGET_RPS = 300
EXAMPLE = Path(__file__).resolve().parent.parent / "tests/data/ocpi-examples-2.2.1"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echargo.settings")
    import django

    django.setup()


def seed() -> None:
    """Our parties and one CPO partner NL*BNC sending us its sessions."""
    from apps.partners.models import Party
    from apps.partners.services import party_upsert_own
    from tests.factories.partners import PartnerConnectionFactory, PartyFactory, issue_token

    party_upsert_own(country_code="TR", party_id="ECH", roles=["CPO", "EMSP"], name="Bench")
    if not Party.objects.filter(party_id="BNC").exists():
        partner = PartnerConnectionFactory(name="Bench CPO")
        PartyFactory(country_code="NL", party_id="BNC", role="CPO", connection=partner)
        issue_token(partner, "bench-session-token")


def stamp(seconds: int) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def main() -> None:
    database_url = bench_database("echargo_bench_sessions")
    setup_django(database_url)
    seed()
    headers = {
        "Authorization": "Token " + base64.b64encode(b"bench-session-token").decode(),
        "Content-Type": "application/json",
    }
    tag = uuid.uuid4().hex[:8].upper()
    started = json.loads((EXAMPLE / "session_example_1_simple_start.json").read_text())
    started.update(country_code="NL", party_id="BNC")
    per_client = PER_CLIENT * (RUNS + 1) + 1

    def url(client: int) -> str:
        return f"/ocpi/emsp/2.2.1/sessions/NL/BNC/{tag}-{client}"

    def put(i: int) -> tuple[str, str, bytes, dict[str, str]]:
        body = {**started, "id": f"{tag}-{i}", "last_updated": stamp(0)}
        ids = {"X-Request-ID": str(uuid.uuid4()), "X-Correlation-ID": str(uuid.uuid4())}
        return "PUT", url(i), json.dumps(body).encode(), {**headers, **ids}

    # Bodies built up front: the load generator must not spend the run rendering them.
    # PATCH n of client c: its session's n-th reading, always newer than the one before.
    bodies = {
        (c, n): json.dumps(
            {
                "kwh": round(n * 0.05, 3),
                "total_cost": {"excl_vat": round(n * 0.01, 2), "incl_vat": round(n * 0.012, 2)},
                "last_updated": stamp(n + 1),
            }
        ).encode()
        for c in range(CLIENTS)
        for n in range(per_client)
    }
    sent = dict.fromkeys(range(CLIENTS), 0)

    def patches(per: int):
        # run_load numbers requests client * per + n: each client owns one session and its
        # readings go out in order (one connection, one request at a time).
        def patch(i: int) -> tuple[str, str, bytes, dict[str, str]]:
            client = i // per
            body = bodies[client, sent[client]]
            sent[client] += 1
            ids = {"X-Request-ID": str(uuid.uuid4()), "X-Correlation-ID": str(uuid.uuid4())}
            return "PATCH", url(client), body, {**headers, **ids}

        return patch

    server = WebServer(database_url)
    label = f"eMSP PATCH session, a newer reading each ({server}, {CLIENTS} clients"
    try:
        run_load(
            port=server.port,
            make_request=put,
            clients=CLIENTS,
            requests_per_client=1,
            expect_status=(200, 201),
        )
        # Warm-up: every worker thread opens its connection and prepares its statements.
        run_load(
            port=server.port, make_request=patches(40), clients=CLIENTS, requests_per_client=40
        )
        cpu = server_cpu_meters(server)
        runs = [
            run_load(
                port=server.port,
                make_request=patches(PER_CLIENT),
                clients=CLIENTS,
                requests_per_client=PER_CLIENT,
                cpu=cpu,
            )
            for _ in range(RUNS)
        ]
    finally:
        server.stop()
    figures = median_of(runs)
    print_figures(f"{label}, as fast as answered)", figures, runs)
    print(
        f"  target (>= {TARGET_RPS} PATCHes/s): "
        + ("met" if figures["rps"] >= TARGET_RPS else "NOT met"),
        flush=True,
    )


if __name__ == "__main__":
    main()
