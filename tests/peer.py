"""A second echargo instance on loopback: its own process, database, tokens and port.

Tests talk to it over real HTTP only; `manage()` runs its management commands the way an
operator would on that machine.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def web_server_command(port: int, processes: int, threads: int | None = None) -> list[str]:
    """The Procfile's web server (uWSGI with uwsgi.ini) on a loopback port."""
    command = [str(Path(sys.executable).with_name("uwsgi")), "--ini", str(ROOT / "uwsgi.ini")]
    command += ["--http11-socket", f"127.0.0.1:{port}", "--processes", str(processes)]
    return command + (["--threads", str(threads)] if threads else [])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PeerInstance:
    def __init__(
        self,
        workdir: Path,
        country_code: str = "NL",
        party_id: str = "PEE",
        *,
        like_bin_demo: bool = False,
    ) -> None:
        """`like_bin_demo`: no OCPI_BASE_URL; the instance records its base URL beside its
        database as bin/demo does, and hosts no party until the test runs `ocpi_party`."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.versions_url = f"{self.url}/ocpi/versions"
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
            "DJANGO_SETTINGS_MODULE": "echargo.settings",
            "DATABASE_URL": f"sqlite:///{workdir / 'peer.sqlite3'}",
            "OCPI_BASE_URL": self.url,
            "SECRET_KEY": "peer-instance-secret-key-for-tests-only-0123456789",
            "OCPI_CLIENT_CONNECT_TIMEOUT": "2",
            "OCPI_CLIENT_READ_TIMEOUT": "10",
        }
        if like_bin_demo:
            del self.env["OCPI_BASE_URL"]
        self.like_bin_demo = like_bin_demo
        self.country_code, self.party_id = country_code, party_id
        self.process: subprocess.Popen | None = None
        self.log = workdir / "peer.log"
        self.invitations = 0

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """`manage.py ARGS` on this instance, whatever its exit code."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def manage(self, *args: str) -> str:
        result = self.run(*args)
        if result.returncode != 0:
            raise RuntimeError(f"peer manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def start(self) -> PeerInstance:
        self.manage("migrate", "--noinput")
        if self.like_bin_demo:
            self.manage("ocpi_base_url", "--record", self.url)
        else:
            self.manage(
                "ocpi_party",
                self.country_code,
                self.party_id,
                "--roles",
                "CPO",
                "EMSP",
                "--name",
                "Peer Charging",
            )
        self.process = subprocess.Popen(
            web_server_command(self.port, processes=1, threads=8),
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90  # a loaded CI machine starts processes slowly
        while time.monotonic() < deadline:
            try:
                requests.get(self.versions_url, timeout=5)
                return self
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"peer did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def invite(self, name: str) -> tuple[str, str]:
        """Our versions URL and token A, as the peer's operator prints them.

        The peer lives for the whole test session and connection names are unique, so each
        invitation gets its own name: `name (n)`.
        """
        self.invitations += 1
        out = self.manage("ocpi_invite", f"{name} ({self.invitations})")
        return (
            re.search(r"versions_url: (\S+)", out).group(1),
            re.search(r"token_a: (\S+)", out).group(1),
        )


class SilentServer:
    """A partner that is up but silent: it accepts every TCP connection on loopback and never
    answers, so a call to it waits out its read timeout every time (a frozen process races: it
    may still answer a request it had already read)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed by stop()
                return
            self._held.append(conn)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        for conn in self._held:
            conn.close()
        self._thread.join(timeout=5)


class CeleryWorker:
    """A real Celery worker on Redis, working on the test database (transactional tests only)."""

    def __init__(self, workdir: Path, database: dict, extra_env: dict[str, str]) -> None:
        user = database.get("USER") or "postgres"
        password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
        host = database.get("HOST") or "127.0.0.1"
        port = database.get("PORT") or "5432"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "echargo.settings_test",
            "DATABASE_URL": f"postgres://{user}{password}@{host}:{port}/{database['NAME']}",
            **extra_env,
        }
        self.log = workdir / "worker.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> CeleryWorker:
        celery = [sys.executable, "-m", "celery", "-A", "echargo"]
        subprocess.run(
            [*celery, "purge", "-f"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        self.process = subprocess.Popen(
            [
                *celery,
                "worker",
                "--pool",
                "solo",
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90  # a loaded CI machine starts processes slowly
        while time.monotonic() < deadline:
            if "ready" in self.log.read_text():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"worker did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
