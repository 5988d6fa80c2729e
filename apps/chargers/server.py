"""The central-system process: chargers' WebSockets, and commands routed to them.

Chargers connect to ws(s)://HOST:PORT/ocpp/<charge_point_id> with subprotocol ocpp1.6 and HTTP
Basic credentials (OCPP security profile 1; profile 2 is the same behind a TLS proxy). The
handshake refuses an unknown id or a wrong password with 401, before any WebSocket exists.
`websockets` accepts a client that offers no subprotocol we know, so the handler closes such a
connection itself. A second connection of a charger replaces the first (the charger rebooted
or its network changed: the old socket is dead even if TCP has not noticed yet).

Commands: each process has a node name and records it on the chargers it holds; it claims the
queued commands of those chargers (SKIP LOCKED, so several processes never take the same one)
when woken through Redis pub/sub or on its poll, and hands each to that charger's worker task,
which sends one call at a time and waits for the answer outside the receive loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import socket
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.db import connections
from django.utils import timezone
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request

from . import services
from .models import CommandStatus, JournalKind
from .ocpp16 import SUBPROTOCOL, CentralSystem16, ChargerRef, Workers, db

logger = logging.getLogger(__name__)

PATH_PREFIX = "/ocpp/"


@dataclass
class Link:
    """One live charger connection and its command queue."""

    charger: ChargerRef
    protocol: CentralSystem16
    connection: ServerConnection
    since: dt.datetime
    commands: asyncio.Queue = field(default_factory=asyncio.Queue)


class OcppServer:
    def __init__(self, *, host: str, port: int, node: str | None = None) -> None:
        self.host, self.port = host, port
        self._node = node
        self.node = node or f"{socket.gethostname()}:{port}"
        self.links: dict[str, Link] = {}
        # charge_point_id -> (stored hash, SHA-256 of the password that matched it): a charger
        # reconnecting with the same password skips the slow password hasher (~0.3 s each).
        self._verified: dict[str, tuple[str, bytes]] = {}
        self._wake = asyncio.Event()
        self._server: Any = None
        self.ready = asyncio.Event()

    # --- Handshake ----------------------------------------------------------------------------

    async def process_request(self, connection: ServerConnection, request: Request) -> Any:
        if not request.path.startswith(PATH_PREFIX):
            return connection.respond(HTTPStatus.NOT_FOUND, "Chargers connect at /ocpp/<id>.\n")
        charge_point_id = unquote(request.path[len(PATH_PREFIX) :].split("?")[0])
        if not charge_point_id or "/" in charge_point_id:
            return connection.respond(HTTPStatus.NOT_FOUND, "Chargers connect at /ocpp/<id>.\n")
        charger = await self._authenticate(charge_point_id, request.headers.get("Authorization"))
        if charger is None:
            await db(
                services.journal,
                charger_id=None,
                charge_point_id=charge_point_id,
                kind=JournalKind.CONNECTION,
                note="Refused at the handshake: unknown charger or wrong password.",
            )
            response = connection.respond(HTTPStatus.UNAUTHORIZED, "Unknown charger or password.\n")
            response.headers["WWW-Authenticate"] = 'Basic realm="OCPP", charset="UTF-8"'
            return response
        connection.charger = charger  # type: ignore[attr-defined]
        return None

    async def _authenticate(self, charge_point_id: str, header: str | None) -> ChargerRef | None:
        password = _basic_password(header, charge_point_id)
        if password is None:
            return None
        charger = await db(services.charger_for_handshake, charge_point_id=charge_point_id)
        if charger is None or not charger.password_hash:
            return None
        digest = hashlib.sha256(password.encode()).digest()
        known = self._verified.get(charge_point_id)
        if not (
            known and known[0] == charger.password_hash and hmac.compare_digest(known[1], digest)
        ):
            # check_password runs the slow hasher: in a thread, never on the event loop.
            if not await db(charger.check_password, raw_password=password):
                return None
            self._verified[charge_point_id] = (charger.password_hash, digest)
        return ChargerRef(charger.pk, charger.charge_point_id, charger.lenient)

    # --- Connections --------------------------------------------------------------------------

    async def handler(self, connection: ServerConnection) -> None:
        charger: ChargerRef = connection.charger  # type: ignore[attr-defined]
        if connection.subprotocol != SUBPROTOCOL:
            # OCPP-J 1.6 section 3.1.2: the server must not accept a connection without it.
            await db(
                services.journal,
                charger_id=charger.pk,
                charge_point_id=charger.charge_point_id,
                kind=JournalKind.CONNECTION,
                note=f"Closed: subprotocol {connection.subprotocol!r} instead of {SUBPROTOCOL}.",
            )
            await connection.close(1002, f"Subprotocol {SUBPROTOCOL} is required.")
            return
        protocol = CentralSystem16(charger, connection)
        link = Link(charger, protocol, connection, timezone.now())
        previous = self.links.get(charger.charge_point_id)
        self.links[charger.charge_point_id] = link
        if previous is not None:
            await protocol.journal(
                kind=JournalKind.CONNECTION, note="A new connection replaced the previous one."
            )
            await previous.connection.close(1000, "Replaced by a new connection.")
        await db(
            services.charger_connected, charger_id=charger.pk, node=self.node, protocol=SUBPROTOCOL
        )
        await protocol.journal(kind=JournalKind.CONNECTION, note=f"Connected to {self.node}.")
        worker = asyncio.create_task(self._command_worker(link))
        self._wake.set()  # commands queued while it reconnected
        try:
            await protocol.start()
        except ConnectionClosed:
            pass
        finally:
            worker.cancel()
            if self.links.get(charger.charge_point_id) is link:
                del self.links[charger.charge_point_id]
            await self._fail_queued(link)
            await db(
                services.charger_disconnected,
                charger_id=charger.pk,
                node=self.node,
                since=link.since,
            )
            await protocol.journal(kind=JournalKind.CONNECTION, note="Disconnected.")

    async def _fail_queued(self, link: Link) -> None:
        while not link.commands.empty():
            command = link.commands.get_nowait()
            await db(
                services.charger_command_finish,
                command_id=command.pk,
                status=CommandStatus.OFFLINE,
                detail="The charger disconnected before it was sent.",
            )

    # --- Commands -----------------------------------------------------------------------------

    async def _command_worker(self, link: Link) -> None:
        """Send this charger's commands one at a time (OCPP-J: one outstanding call)."""
        while True:
            command = await link.commands.get()
            try:
                status, answer, detail = await link.protocol.send_command(command)
            except ConnectionClosed:
                status, answer, detail = CommandStatus.TIMEOUT, "", "Connection closed."
            except Exception as exc:  # the charger's answer broke the library: record it
                logger.exception("Command %s to %s failed", command.pk, link.charger)
                status, answer, detail = CommandStatus.FAILED, "", f"{type(exc).__name__}: {exc}"
            await db(
                services.charger_command_finish,
                command_id=command.pk,
                status=status,
                answer=answer,
                detail=detail,
            )

    async def dispatch_commands(self) -> None:
        """Claim the queued commands of our chargers and hand them to their workers."""
        commands = await db(services.charger_commands_claim, node=self.node)
        for command in commands:
            link = self.links.get(command.charger.charge_point_id)
            if link is None:
                await db(
                    services.charger_command_finish,
                    command_id=command.pk,
                    status=CommandStatus.OFFLINE,
                    detail="The charger disconnected before it was sent.",
                )
            else:
                link.commands.put_nowait(command)

    async def _dispatcher(self) -> None:
        last_sweep = 0.0
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), settings.OCPP_COMMAND_POLL_SECONDS)
            self._wake.clear()
            try:
                await self.dispatch_commands()
                if loop.time() - last_sweep > 5:
                    last_sweep = loop.time()
                    await db(services.charger_commands_expire)
            except Exception:
                logger.exception("Command dispatch failed; retrying on the next poll")

    async def _redis_wakeups(self) -> None:
        """Wake the dispatcher when the web process queues a command (REDIS_URL set)."""
        import redis.asyncio as redis

        while True:
            try:
                client = redis.Redis.from_url(settings.REDIS_URL)
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(services.COMMAND_CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._wake.set()
            except Exception:
                logger.warning("Redis wake-ups lost; polling until they are back")
                await asyncio.sleep(5)

    # --- Running ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Future | None = None) -> None:
        loop = asyncio.get_running_loop()
        async with serve(
            self.handler,
            self.host,
            self.port,
            subprotocols=[SUBPROTOCOL],
            process_request=self.process_request,
            # Chargers rarely negotiate compression, and deflate per frame costs CPU per charger.
            compression=None,
            ping_interval=settings.OCPP_PING_INTERVAL or None,
            max_size=2**20,
        ) as server:
            self._server = server
            self.port = server.sockets[0].getsockname()[1]
            # The node name routes commands here; stable across restarts on the same port, so
            # a restart first forgets the connections the previous run held.
            self.node = self._node or f"{socket.gethostname()}:{self.port}"
            await db(services.charger_node_reset, node=self.node)
            tasks = [asyncio.create_task(self._dispatcher())]
            if settings.REDIS_URL:
                tasks.append(asyncio.create_task(self._redis_wakeups()))
            self.ready.set()
            try:
                await (stop if stop is not None else asyncio.get_running_loop().create_future())
            finally:
                for task in tasks:
                    task.cancel()
                for link in list(self.links.values()):
                    await link.connection.close(1001, "Server stopping.")
        await db(services.charger_node_reset, node=self.node)
        await _close_thread_connections(loop)


async def _close_thread_connections(loop: asyncio.AbstractEventLoop) -> None:
    """Close the database connection of every worker thread (each holds its own)."""
    for executor, workers in Workers.all():
        barrier = threading.Barrier(workers, timeout=5)

        def close(barrier: threading.Barrier = barrier) -> None:
            connections.close_all()
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()  # one call per thread: each waits until all threads hold one

        await asyncio.gather(*(loop.run_in_executor(executor, close) for _ in range(workers)))


def _basic_password(header: str | None, charge_point_id: str) -> str | None:
    """The password of an HTTP Basic header whose user is the charge point id (OCPP 1.6
    security profile 1), else None. The scheme name is case-insensitive (RFC 7617)."""
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep or user != charge_point_id:
        return None
    return password
