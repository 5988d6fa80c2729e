"""Simulated OCPP 1.6J charge points (the `ocpp` library's client side), for the demo, the
tests and the benchmark. A simulated charger answers every staff command as a real one would,
and `drive` runs a realistic day: boot, heartbeats, plug-in, authorize, charging on a power
curve with MeterValues, parking once the car is full, stop."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import math
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import websockets
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

SUBPROTOCOL = "ocpp1.6"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def stamp(moment: dt.datetime | None = None) -> str:
    return (moment or utc_now()).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def basic_auth(charge_point_id: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{charge_point_id}:{password}".encode()).decode()


@dataclass
class Meter:
    energy_wh: int = 1_000_000  # the register a used charger starts from


class SimulatedCharger(ChargePoint):
    """A charge point with one meter; it records every command the central system sent."""

    def __init__(self, charge_point_id: str, connection: Any, *, connectors: int = 1) -> None:
        super().__init__(charge_point_id, connection, response_timeout=30)
        self.connectors = connectors
        self.meter = Meter()
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.received_at: list[float] = []  # time.perf_counter() of each, for the benchmark
        self.transactions: dict[int, int] = {}  # transaction id -> connector
        self.answers: dict[str, str] = {}  # action -> status to answer (tests: "Rejected")
        self.follow_ups: list[asyncio.Task] = []
        # The charger's clock runs ahead of ours by this much when `drive` compresses time.
        self.clock_offset = dt.timedelta()
        # Offline: transaction messages wait here, in order, until `replay` (OCPP 1.6 section
        # 4.7: a charger keeps transaction-related messages while it has no connection).
        self.offline = False
        self.buffered: list[Any] = []

    def now(self) -> str:
        return stamp(utc_now() + self.clock_offset)

    async def send_or_buffer(self, payload: Any) -> Any:
        if self.offline:
            self.buffered.append(payload)
            return None
        return await self.call(payload)

    async def replay(self) -> list[Any]:
        """Back online: send what was buffered, oldest first, with its original timestamps."""
        self.offline = False
        answers = []
        while self.buffered:
            answers.append(await self.call(self.buffered.pop(0)))
        return answers

    # --- Charger -> central system ------------------------------------------------------------

    async def boot(self, **extra: Any) -> Any:
        return await self.call(
            call.BootNotification(
                charge_point_vendor=extra.pop("vendor", "echargo-sim"),
                charge_point_model=extra.pop("model", "SIM-22"),
                firmware_version=extra.pop("firmware_version", "1.4.2"),
                charge_point_serial_number=extra.pop("serial", f"SN-{self.id}"[:25]),
                **extra,
            )
        )

    async def heartbeat(self) -> Any:
        return await self.call(call.Heartbeat())

    async def status(self, connector: int, status: str, error_code: str = "NoError") -> Any:
        return await self.call(
            call.StatusNotification(
                connector_id=connector, error_code=error_code, status=status, timestamp=self.now()
            )
        )

    async def authorize(self, id_tag: str) -> str:
        result = await self.call(call.Authorize(id_tag=id_tag))
        return result.id_tag_info["status"]

    async def start_transaction(
        self, connector: int, id_tag: str, *, timestamp: str | None = None
    ) -> Any:
        result = await self.call(
            call.StartTransaction(
                connector_id=connector,
                id_tag=id_tag,
                meter_start=self.meter.energy_wh,
                timestamp=timestamp or self.now(),
            )
        )
        self.transactions[result.transaction_id] = connector
        return result

    async def meter_values(
        self,
        connector: int,
        transaction_id: int | None,
        *,
        power_w: float,
        timestamp: str | None = None,
        energy: bool = True,
        context: str = "Sample.Periodic",
    ) -> Any:
        sampled = [{"value": f"{power_w:.0f}", "measurand": "Power.Active.Import", "unit": "W"}]
        if energy:
            sampled.insert(
                0,
                {
                    "value": str(self.meter.energy_wh),
                    "measurand": "Energy.Active.Import.Register",
                    "unit": "Wh",
                    "context": context,
                },
            )
        return await self.send_or_buffer(
            call.MeterValues(
                connector_id=connector,
                transaction_id=transaction_id,
                meter_value=[{"timestamp": timestamp or self.now(), "sampled_value": sampled}],
            )
        )

    async def stop_transaction(
        self, transaction_id: int, *, reason: str = "Local", timestamp: str | None = None
    ) -> Any:
        result = await self.send_or_buffer(
            call.StopTransaction(
                meter_stop=self.meter.energy_wh,
                timestamp=timestamp or self.now(),
                transaction_id=transaction_id,
                reason=reason,
            )
        )
        self.transactions.pop(transaction_id, None)
        return result

    # --- Central system -> charger: answered as a charger would -------------------------------

    def _answer(self, action: str, default: str = "Accepted") -> str:
        return self.answers.get(action, default)

    def _record(self, action: str, arguments: dict[str, Any]) -> None:
        self.received.append((action, arguments))
        self.received_at.append(time.perf_counter())

    @on(Action.reset)
    def on_reset(self, type: str) -> Any:
        self._record("Reset", {"type": type})
        return call_result.Reset(status=self._answer("Reset"))

    @on(Action.unlock_connector)
    def on_unlock(self, connector_id: int) -> Any:
        self._record("UnlockConnector", {"connector_id": connector_id})
        return call_result.UnlockConnector(status=self._answer("UnlockConnector", "Unlocked"))

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, **extra: Any) -> Any:
        self._record("RemoteStartTransaction", {"id_tag": id_tag})
        return call_result.RemoteStartTransaction(status=self._answer("RemoteStartTransaction"))

    @after(Action.remote_start_transaction)
    def after_remote_start(self, id_tag: str, connector_id: int | None = None, **extra: Any):
        # After the answer is sent: a charger never calls back inside its own handler either.
        if self._answer("RemoteStartTransaction") == "Accepted":
            self.follow_ups.append(
                asyncio.ensure_future(self.start_transaction(connector_id or 1, id_tag))
            )

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int) -> Any:
        self._record("RemoteStopTransaction", {"transaction_id": transaction_id})
        known = transaction_id in self.transactions
        status = self._answer("RemoteStopTransaction") if known else "Rejected"
        return call_result.RemoteStopTransaction(status=status)

    @after(Action.remote_stop_transaction)
    def after_remote_stop(self, transaction_id: int) -> None:
        if transaction_id in self.transactions:
            self.follow_ups.append(
                asyncio.ensure_future(self.stop_transaction(transaction_id, reason="Remote"))
            )

    @on(Action.reserve_now)
    def on_reserve(self, connector_id: int, expiry_date: str, id_tag: str, **extra: Any) -> Any:
        self._record("ReserveNow", {"connector_id": connector_id, "id_tag": id_tag})
        return call_result.ReserveNow(status=self._answer("ReserveNow"))

    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id: int) -> Any:
        self._record("CancelReservation", {"reservation_id": reservation_id})
        return call_result.CancelReservation(status=self._answer("CancelReservation"))

    @on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str) -> Any:
        self._record("ChangeAvailability", {"connector_id": connector_id, "type": type})
        return call_result.ChangeAvailability(status=self._answer("ChangeAvailability"))


@contextlib.asynccontextmanager
async def connected(
    url: str, charge_point_id: str, password: str, *, raw: bool = False, **options: Any
) -> AsyncIterator[SimulatedCharger]:
    """A simulated charger connected to `url` (ws://host:port/ocpp) and reading its socket
    (`raw`: the caller reads the socket itself, e.g. to send broken frames)."""
    connection = await websockets.connect(
        f"{url.rstrip('/')}/{charge_point_id}",
        subprotocols=[SUBPROTOCOL],
        additional_headers={"Authorization": basic_auth(charge_point_id, password)},
        compression=None,
        open_timeout=30,
        **options,
    )
    charger = SimulatedCharger(charge_point_id, connection)
    reader = asyncio.create_task(charger.start())
    charger._reader = reader
    try:
        yield charger
    finally:
        reader.cancel()
        await connection.close()


def power_curve(minute: float, *, peak_kw: float = 22.0, full_after: float = 40.0) -> float:
    """Charging power (kW) a car draws `minute` minutes in: ramp-up, plateau, taper to zero."""
    if minute >= full_after:
        return 0.0
    ramp = min(1.0, minute / 2.0)
    taper = 1.0 if minute < full_after * 0.7 else math.cos((minute / full_after - 0.7) * 5.2)
    return max(0.0, peak_kw * ramp * max(0.0, taper))


@dataclass
class DriveFigures:
    meter_values: int = 0
    sessions: int = 0
    errors: list[str] = field(default_factory=list)


async def drive(
    charger: SimulatedCharger,
    *,
    id_tags: list[str],
    sample_seconds: float = 5.0,
    minutes_per_sample: float = 1.0,
    sessions: int = 1,
    heartbeat_seconds: float = 60.0,
    offline_minutes: tuple[float, float] | None = None,
    figures: DriveFigures | None = None,
) -> DriveFigures:
    """Run `sessions` charging sessions on connector 1, time compressed: each MeterValues
    (every `sample_seconds` of real time) stands for `minutes_per_sample` minutes of charging,
    and the charger's clock moves on by as much. `offline_minutes` (from, to): the charger loses
    its connection then, buffers its readings and replays them when it is back."""
    figures = figures or DriveFigures()
    await charger.boot()
    await charger.status(1, "Available")
    last_heartbeat = asyncio.get_running_loop().time()
    for _ in range(sessions):
        id_tag = random.choice(id_tags)  # noqa: S311 (simulated traffic)
        await charger.status(1, "Preparing")
        if await charger.authorize(id_tag) != "Accepted":
            await charger.status(1, "Available")
            continue
        started = await charger.start_transaction(1, id_tag)
        tx = started.transaction_id
        await charger.status(1, "Charging")
        minute, parked = 0.0, False
        while minute < 50:
            await asyncio.sleep(sample_seconds)
            charger.clock_offset += dt.timedelta(minutes=minutes_per_sample) - dt.timedelta(
                seconds=sample_seconds
            )
            if offline_minutes and offline_minutes[0] <= minute < offline_minutes[1]:
                charger.offline = True
            elif charger.offline:
                await charger.replay()
            power_kw = power_curve(minute)
            charger.meter.energy_wh += round(power_kw * 1000 * minutes_per_sample / 60)
            await charger.meter_values(1, tx, power_w=power_kw * 1000)
            figures.meter_values += 1
            if power_kw == 0 and not parked and not charger.offline:
                await charger.status(1, "SuspendedEV")  # full: the car stops asking for power
                parked = True
            minute += minutes_per_sample
            now = asyncio.get_running_loop().time()
            if now - last_heartbeat > heartbeat_seconds and not charger.offline:
                await charger.heartbeat()
                last_heartbeat = now
        if charger.offline:
            await charger.replay()
        await charger.status(1, "Finishing")
        await charger.stop_transaction(tx, reason="EVDisconnected")
        await charger.status(1, "Available")
        figures.sessions += 1
    return figures
