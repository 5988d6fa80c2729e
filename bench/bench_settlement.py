"""Settlement of 1,000,000 CDRs into statements on PostgreSQL, the sums done in the database.

Seeds (once) 40 partners, half CPOs and half eMSPs, and 1,000,000 CDRs of November 2026 by one
INSERT ... SELECT over generate_series: half ours for partners' drivers (receivable), half the
partners' for our drivers (payable), 1 % of those credit CDRs, 1 % of them disputed (held out).
Then builds that month's statements from scratch (no statement or line left from before) three
times, and prints the seconds and CDRs/s of each run and their median. Target: <= 30 s.
Also prints one rebuild of the drafts in place (deleting and re-inserting every line).

Run: .venv/bin/python -m bench.bench_settlement   (BENCH_CDRS=1000000 by default)
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time

from bench.common import bench_database

CDRS = int(os.environ.get("BENCH_CDRS", "1000000"))
PARTNERS = 20  # of each role
RUNS = 3
TARGET_SECONDS = 30.0
NOVEMBER = dt.date(2026, 11, 1)


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echargo.settings")
    import django

    django.setup()


def _filler(field) -> str:
    """An SQL value for a NOT NULL column the bench does not care about."""
    from django.db import models

    if isinstance(field, models.JSONField):
        return "'[]'::jsonb" if field.default is list else "'{}'::jsonb"
    if isinstance(field, models.BooleanField):
        return "false"
    if isinstance(field, models.DecimalField | models.IntegerField | models.FloatField):
        return "0"
    if isinstance(field, models.DateTimeField):
        return "timestamptz '2026-11-15T12:00:00Z'"
    if isinstance(field, models.DateField):
        return "date '2026-11-15'"
    return "''"


def seed() -> None:
    from django.db import connection

    from apps.cdrs.models import Cdr
    from apps.partners.models import Party
    from apps.partners.services import party_upsert_own
    from apps.settlement.models import Dispute
    from tests.factories.partners import PartnerConnectionFactory, PartyFactory

    party_upsert_own(country_code="TR", party_id="ECH", roles=["CPO", "EMSP"], name="Bench")
    our_cpo = Party.objects.get(is_own=True, role="CPO")
    for n in range(PARTNERS):
        if not Party.objects.filter(country_code="NL", party_id=f"C{n:02d}").exists():
            connection_row = PartnerConnectionFactory(name=f"Bench partner {n}")
            PartyFactory(
                country_code="NL", party_id=f"C{n:02d}", role="CPO", connection=connection_row
            )
            PartyFactory(
                country_code="NL", party_id=f"E{n:02d}", role="EMSP", connection=connection_row
            )
    have = Cdr.objects.count()
    if have >= CDRS:
        return
    cpos = list(
        Party.objects.filter(role="CPO", party_id__startswith="C", is_own=False).order_by(
            "party_id"
        )
    )
    print(f"seeding {CDRS - have} CDRs ...", flush=True)
    started = time.perf_counter()
    # g: the row number. Even rows are ours (CPO) for partner eMSP E(g % 20)'s drivers, odd rows
    # a partner CPO's for our drivers; every 100th a credit CDR.
    cpo_ids = "ARRAY[" + ",".join(str(p.pk) for p in cpos) + "]"
    received_from = "ARRAY[" + ",".join(str(p.connection_id) for p in cpos) + "]"
    ours = "(g % 2 = 0)"
    second = "(g % 2500000) * interval '1 second'"
    sign = "CASE WHEN g % 100 = 0 THEN -1 ELSE 1 END"
    amount = "((g % 7000) / 200.0 + 0.5)"
    partner = "((g / 2) % 20)"
    chosen = {
        "owner_id": f"CASE WHEN {ours} THEN {our_cpo.pk} ELSE ({cpo_ids})[{partner} + 1] END",
        "country_code": f"CASE WHEN {ours} THEN 'TR' ELSE 'NL' END",
        "party_id": f"CASE WHEN {ours} THEN 'ECH' ELSE 'C' || lpad({partner}::text, 2, '0') END",
        "cdr_id": "'CDR-' || g",
        "cdr_key": "'CDR-' || g",
        "start_date_time": f"timestamptz '2026-11-01T00:00:00Z' + {second}",
        "end_date_time": f"timestamptz '2026-11-01T01:00:00Z' + {second}",
        "session_id": "'S-' || g",
        "token_country_code": f"CASE WHEN {ours} THEN 'NL' ELSE 'TR' END",
        "token_party_id": (
            f"CASE WHEN {ours} THEN 'E' || lpad({partner}::text, 2, '0') ELSE 'ECH' END"
        ),
        "token_uid": "'UID' || (g % 50000)",
        "token_type": "'RFID'",
        "token_contract_id": "'C-' || (g % 50000)",
        "currency": "'EUR'",
        "total_energy": "(g % 7000) / 100.0 + 1",
        "total_cost_excl_vat": f"{sign} * {amount}",
        "total_cost_incl_vat": f"{sign} * {amount} * 1.2",
        "credit": "(g % 100 = 0)",
        "credit_reference_id": "CASE WHEN g % 100 = 0 THEN 'CDR-' || (g - 2) ELSE '' END",
        "received_from_id": f"CASE WHEN {ours} THEN NULL ELSE ({received_from})[{partner} + 1] END",
        "ocpi_json": "'{}'",
        "created_at": "now()",
        "last_updated": f"timestamptz '2026-11-01T01:00:00Z' + {second}",
    }
    columns, values = [], []
    for field in Cdr._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.attname in chosen:
            columns.append(field.column)
            values.append(chosen[field.attname])
        elif not field.null:
            columns.append(field.column)
            values.append(_filler(field))
    sql = (
        f"INSERT INTO {Cdr._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM generate_series(%s, %s) g"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("%", "%%").replace("%%s", "%s"), [have + 1, CDRS])
        # 1 % of the partners' CDRs disputed (open): held out of the payable statements.
        cursor.execute(
            f"INSERT INTO {Dispute._meta.db_table} (cdr_id, status, reason, findings, currency, "  # noqa: S608
            "lines, tariff_source, our_breakdown, note, opened_at) "
            "SELECT id, 'open', 'price_deviation', '[]'::jsonb, 'EUR', '[]'::jsonb, '', '', '', "
            "now() "
            f"FROM {Cdr._meta.db_table} WHERE received_from_id IS NOT NULL AND id % 100 = 1 "
            "AND NOT credit ON CONFLICT DO NOTHING"
        )
    print(f"  {CDRS - have} CDRs in {time.perf_counter() - started:.1f} s", flush=True)


def steady(database_url: str) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")


def clear_statements() -> None:
    from django.db import connection

    from apps.settlement.models import Statement, StatementLine

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {StatementLine._meta.db_table}, {Statement._meta.db_table}")
        cursor.execute(f"TRUNCATE {Statement.history.model._meta.db_table}")


def main() -> None:
    database_url = bench_database("bench_settlement")
    setup_django(database_url)
    from apps.settlement.models import Statement
    from apps.settlement.services import statements_build

    seed()
    clear_statements()
    steady(database_url)
    seconds = []
    for run in range(RUNS):
        clear_statements()
        started = time.perf_counter()
        statements = statements_build(period_start=NOVEMBER)
        elapsed = time.perf_counter() - started
        seconds.append(elapsed)
        covered = sum(s.cdr_count + s.held_count for s in statements)
        print(
            f"run {run + 1}: {len(statements)} statements, {covered} CDRs in {elapsed:.2f} s "
            f"({covered / elapsed:,.0f} CDRs/s)",
            flush=True,
        )
    covered = sum(s.cdr_count + s.held_count for s in Statement.objects.all())
    median = statistics.median(seconds)
    print(
        f"settlement of {covered:,} CDRs: median {median:.2f} s ({covered / median:,.0f} CDRs/s) "
        f"over {RUNS} runs [{', '.join(f'{s:.2f}' for s in seconds)}]; target <= "
        f"{TARGET_SECONDS:.0f} s: {'met' if median <= TARGET_SECONDS else 'NOT met'}"
    )
    started = time.perf_counter()
    statements_build(period_start=NOVEMBER)
    print(f"rebuild of the drafts in place: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
