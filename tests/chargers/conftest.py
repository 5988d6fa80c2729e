"""Actors for the charger tests, and our central system on a loopback port.

- `cpo`, `emsp`: our own parties TR*ECH.
- `station`: one of our locations (Europe/Istanbul) with two EVSEs, each one connector priced by
  tariff AC-STANDARD (0.25 TRY/kWh + 20 % VAT); `charger`: CP-... mapped connector 1 -> EVSE 1.
- `driver_token`: one of our own drivers' RFID tokens, uid 04OURDRIVER01.
- `bosphorus_receives`: eMSP partner TR*BOS with a locations Receiver (gets our EVSE pushes).
- `central_system`: `ocpp_server`'s server coroutine on a free port in a background thread;
  `.url` is ws://127.0.0.1:PORT/ocpp.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from apps.chargers.server import OcppServer
from tests.factories.chargers import own_charger
from tests.factories.locations import EVSEData, own_location
from tests.factories.tariffs import own_tariff
from tests.factories.tokens import TokenFactory
from tests.locations.conftest import BOSPHORUS_LOCATIONS, receives_locations


@pytest.fixture
def cpo(our_parties):
    return next(p for p in our_parties if p.role == "CPO")


@pytest.fixture
def emsp(our_parties):
    return next(p for p in our_parties if p.role == "EMSP")


@pytest.fixture
def station(cpo):
    own_tariff(cpo, id="AC-STANDARD")
    return own_location(cpo, evses=[EVSEData(uid="E1"), EVSEData(uid="E2")])


@pytest.fixture
def charger(station):
    return own_charger(station, charge_point_id="CP-ISTIKLAL-1")


@pytest.fixture
def driver_token(emsp):
    return TokenFactory(owner=emsp, uid="04OURDRIVER01")


@pytest.fixture
def bosphorus_receives(bosphorus):
    return receives_locations(bosphorus, BOSPHORUS_LOCATIONS)


class CentralSystem:
    """An OcppServer running on its own event loop in a daemon thread."""

    def __init__(self) -> None:
        self.server = OcppServer(host="127.0.0.1", port=0, node="test-node")
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.stop_future = self.loop.create_future()
        self.loop.run_until_complete(self.server.run(self.stop_future))

    def start(self) -> CentralSystem:
        self.thread.start()
        for _ in range(200):
            if self.server.ready.is_set():
                break
            threading.Event().wait(0.05)
        else:
            raise RuntimeError("The central system did not start")
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(
            lambda: self.stop_future.done() or self.stop_future.set_result(None)
        )
        self.thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/ocpp"


@pytest.fixture
def central_system(transactional_db, settings):
    settings.OCPP_COMMAND_POLL_SECONDS = 0.1
    settings.OCPP_PING_INTERVAL = 0
    system = CentralSystem().start()
    yield system
    system.stop()
    # Tests reach the ORM from async code through sync_to_async, which runs it in asgiref's
    # one shared thread: close that thread's connection so the test database can be dropped.
    asyncio.run(sync_to_async(connections.close_all)())
