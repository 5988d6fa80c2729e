"""`manage.py ocpp_server`: the OCPP 1.6J central system (apps/chargers/server.py)."""

from __future__ import annotations

import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.audit.services import audit_log_flush
from apps.chargers.server import OcppServer


class Command(BaseCommand):
    help = "Accept our chargers' OCPP 1.6J WebSockets at ws://HOST:PORT/ocpp/<charge_point_id>."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.OCPP_HOST)
        parser.add_argument("--port", type=int, default=settings.OCPP_PORT)
        parser.add_argument("--node", default="", help="Routing name (default host:port).")

    def handle(self, *args, host, port, node, **options):
        server = OcppServer(host=host, port=port, node=node or None)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            stop = loop.create_future()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
            runner = asyncio.create_task(server.run(stop))
            await server.ready.wait()
            self.stdout.write(f"OCPP 1.6J central system on ws://{host}:{server.port}/ocpp/<id>")
            await runner

        try:
            asyncio.run(main())
        finally:
            audit_log_flush()
