"""Reconciliation of a partner's CDR, as it runs inside every CDR POST: checks per second.

Seeds our parties, a partner CPO with its published 3-element tariff (day/night energy, a
parking fee), 10,000 of our drivers' tokens, and builds 2,000 CDR documents of 8 charging
periods each, correctly priced. Times `cdr_check` (token lookup, session lookup, tariff lookup,
re-pricing by the engine with the compiled tariff cached) over all of them, 5 runs, one thread,
and prints the median checks/s. The CDR intake target is >= 200 CDRs/s with reconciliation on:
this is the share reconciliation takes of it.

Run: .venv/bin/python -m bench.bench_reconciliation
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import time
from decimal import Decimal

from bench.common import bench_database

TOKENS = 10_000
DOCUMENTS = 2_000
RUNS = 5
TARIFF_ID = "BENCH-AC"
ELEMENTS = [
    {
        "price_components": [
            {"type": "ENERGY", "price": Decimal("0.45"), "vat": Decimal("20"), "step_size": 1}
        ],
        "restrictions": {"start_time": "07:00", "end_time": "23:00"},
    },
    {
        "price_components": [
            {"type": "ENERGY", "price": Decimal("0.30"), "vat": Decimal("20"), "step_size": 1},
            {
                "type": "PARKING_TIME",
                "price": Decimal("2.00"),
                "vat": Decimal("20"),
                "step_size": 60,
            },
        ]
    },
]


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echargo.settings")
    import django

    django.setup()


def seed():
    from apps.partners.models import Party
    from apps.partners.services import party_upsert_own
    from apps.tokens.models import Token
    from tests.factories.partners import PartnerConnectionFactory, PartyFactory
    from tests.factories.tariffs import partner_tariff

    party_upsert_own(country_code="TR", party_id="ECH", roles=["CPO", "EMSP"], name="Bench")
    our_emsp = Party.objects.get(is_own=True, role="EMSP")
    cpo = Party.objects.filter(country_code="NL", party_id="RCP", role="CPO").first()
    if cpo is None:
        connection = PartnerConnectionFactory(name="Bench reconciliation CPO")
        cpo = PartyFactory(country_code="NL", party_id="RCP", role="CPO", connection=connection)
        partner_tariff(cpo, id=TARIFF_ID, currency="EUR", elements=ELEMENTS)
    have = Token.objects.filter(owner=our_emsp).count()
    Token.objects.bulk_create(
        Token(
            owner=our_emsp,
            country_code="TR",
            party_id="ECH",
            uid=f"RB{n:08d}",
            uid_key=f"RB{n:08d}",
            type="RFID",
            contract_id=f"TR-ECH-R{n:08d}",
            issuer="Bench",
            whitelist="ALLOWED",
            last_updated=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
        for n in range(have, TOKENS)
    )
    return cpo


def documents(cpo) -> list[dict]:
    from apps.tariffs.pricing import compile_tariff, price_periods
    from echargo.ocpi.fields import format_ocpi_datetime

    tariff = compile_tariff({"currency": "EUR", "id": TARIFF_ID, "elements": ELEMENTS})
    rng = random.Random(11)
    result = []
    for n in range(DOCUMENTS):
        start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(
            minutes=rng.randrange(40_000)
        )
        periods, at = [], start
        for _ in range(7):
            periods.append(
                {
                    "start_date_time": format_ocpi_datetime(at),
                    "dimensions": [
                        {"type": "ENERGY", "volume": Decimal(rng.randrange(100, 900)) / 100},
                        {"type": "TIME", "volume": Decimal("0.25")},
                    ],
                    "tariff_id": TARIFF_ID,
                }
            )
            at += dt.timedelta(minutes=15)
        periods.append(
            {
                "start_date_time": format_ocpi_datetime(at),
                "dimensions": [{"type": "PARKING_TIME", "volume": Decimal("0.5")}],
                "tariff_id": TARIFF_ID,
            }
        )
        end = at + dt.timedelta(minutes=30)
        priced = price_periods(tariff=tariff, periods=periods, end_date_time=end, time_zone="UTC")
        result.append(
            {
                "country_code": cpo.country_code,
                "party_id": cpo.party_id,
                "id": f"RC-{n}",
                "start_date_time": format_ocpi_datetime(start),
                "end_date_time": format_ocpi_datetime(end),
                "session_id": f"RS-{n}",
                "cdr_token": {
                    "country_code": "TR",
                    "party_id": "ECH",
                    "uid": f"RB{rng.randrange(TOKENS):08d}",
                    "type": "RFID",
                    "contract_id": "TR-ECH-R1",
                },
                "cdr_location": {"id": "LOC-1"},
                "currency": "EUR",
                "charging_periods": periods,
                **priced.to_ocpi_totals(),
            }
        )
    return result


def main() -> None:
    database_url = bench_database("bench_reconciliation")
    setup_django(database_url)
    from apps.settlement.reconciliation import cdr_check, compiled_tariff_cache_clear

    cpo = seed()
    docs = documents(cpo)
    compiled_tariff_cache_clear()
    rates = []
    for run in range(RUNS):
        started = time.perf_counter()
        findings = sum(len(cdr_check(document=doc, owner_id=cpo.pk).findings) for doc in docs)
        elapsed = time.perf_counter() - started
        rates.append(len(docs) / elapsed)
        print(
            f"run {run + 1}: {len(docs)} CDRs in {elapsed:.2f} s ({rates[-1]:,.0f}/s), "
            f"{findings} findings",
            flush=True,
        )
    median = statistics.median(rates)
    print(
        f"reconciliation: median {median:,.0f} CDRs/s over {RUNS} runs "
        f"({1000 / median:.2f} ms per CDR; one thread)"
    )


if __name__ == "__main__":
    main()
