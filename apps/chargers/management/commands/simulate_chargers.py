"""`manage.py simulate_chargers`: N simulated OCPP 1.6J charge points against our ocpp_server.

Each boots, reports Available, and runs charging sessions (authorize, StartTransaction, a power
curve in MeterValues, parking when full, StopTransaction), answering staff commands meanwhile.
`--setup` first registers the chargers at our own locations (one EVSE each, round robin).
"""

from __future__ import annotations

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.chargers.models import Charger
from apps.chargers.services import charger_register
from apps.chargers.simulator import DriveFigures, connected, drive
from apps.locations.models import EVSE
from apps.tokens.models import Token


class Command(BaseCommand):
    help = "Connect N simulated OCPP 1.6J charge points and drive realistic traffic."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=f"ws://127.0.0.1:{settings.OCPP_PORT}/ocpp")
        parser.add_argument("--count", type=int, default=3)
        parser.add_argument("--prefix", default="SIM-")
        parser.add_argument("--password", default="simulated-charger-password")
        parser.add_argument("--setup", action="store_true", help="Register missing chargers.")
        parser.add_argument("--tags", default="", help="Comma-separated id tags to tap.")
        parser.add_argument("--sessions", type=int, default=1, help="Sessions per charger.")
        parser.add_argument("--sample-seconds", type=float, default=5.0)
        parser.add_argument("--minutes-per-sample", type=float, default=1.0)

    def handle(self, *args, **options):
        ids = [f"{options['prefix']}{n:04d}" for n in range(1, options["count"] + 1)]
        if options["setup"]:
            self._setup(ids, options["password"])
        tags = [t for t in options["tags"].split(",") if t] or list(
            Token.objects.filter(owner__is_own=True, valid=True).values_list("uid", flat=True)[:50]
        )
        if not tags:
            raise CommandError("No id tags: pass --tags or issue some tokens to our drivers.")
        figures = DriveFigures()

        async def one(charge_point_id: str) -> None:
            try:
                async with connected(options["url"], charge_point_id, options["password"]) as cp:
                    await drive(
                        cp,
                        id_tags=tags,
                        sessions=options["sessions"],
                        sample_seconds=options["sample_seconds"],
                        minutes_per_sample=options["minutes_per_sample"],
                        figures=figures,
                    )
            except Exception as exc:
                figures.errors.append(f"{charge_point_id}: {type(exc).__name__}: {exc}")

        async def main() -> None:
            await asyncio.gather(*(one(i) for i in ids))

        asyncio.run(main())
        self.stdout.write(
            f"{len(ids)} chargers: {figures.sessions} sessions, "
            f"{figures.meter_values} MeterValues, {len(figures.errors)} errors"
        )
        for error in figures.errors[:20]:
            self.stdout.write(f"  {error}")

    def _setup(self, ids: list[str], password: str) -> None:
        evses = list(
            EVSE.objects.filter(location__own_cpo=True)
            .exclude(status="REMOVED")
            .select_related("location")
            .prefetch_related("connectors")
            .order_by("pk")
        )
        if not evses:
            raise CommandError("--setup needs at least one of our own locations with an EVSE.")
        for n, charge_point_id in enumerate(ids):
            if Charger.objects.filter(charge_point_id=charge_point_id).exists():
                continue
            evse = evses[n % len(evses)]
            connector = next(iter(evse.connectors.all()), None)
            charger_register(
                charge_point_id=charge_point_id,
                password=password,
                location=evse.location,
                connectors=[(1, evse, connector)] if connector else [],
            )
        self.stdout.write(f"{len(ids)} simulated chargers registered.")
