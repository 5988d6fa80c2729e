"""Shared pieces of the benchmarks: a bench database, gunicorn as the Procfile runs it, and a
bounded load generator on loopback that prints requests/s, p50 and p99."""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")


def bench_database(name: str) -> str:
    """Create the PostgreSQL database `name` if missing, migrate it, return its URL."""
    import psycopg

    admin = urlsplit(ADMIN_URL)
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    url = admin._replace(path=f"/{name}").geturl()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=bench_env(url),
        check=True,
    )
    return url


def bench_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    return {
        **env,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "echargo.settings",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn as the Procfile's web process runs it, on a loopback port."""

    def __init__(self, database_url: str, workers: int = 4, threads: int = 4) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "echargo.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--timeout",
                "30",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=bench_env(database_url, OCPI_BASE_URL=self.url),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def run_load(
    *,
    port: int,
    make_request: Callable[[int], tuple[str, str, bytes | None, dict[str, str]]],
    clients: int = 8,
    requests_per_client: int = 500,
    max_seconds: float = 60.0,
    expect_status: tuple[int, ...] = (200,),
) -> dict[str, float]:
    """`clients` threads with keep-alive connections, each sending up to `requests_per_client`
    requests (bounded in time too); returns requests/s, p50 and p99 in ms."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        for i in range(requests_per_client):
            if time.monotonic() > deadline:
                break
            method, path, body, headers = make_request(index * requests_per_client + i)
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status not in expect_status:
                with lock:
                    errors.append(f"{method} {path} -> {response.status}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} unexpected answers, e.g. {errors[:3]}")
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def print_figures(label: str, figures: dict[str, float]) -> None:
    print(
        f"{label}: {figures['rps']:.0f} requests/s, p50 {figures['p50']:.1f} ms, "
        f"p99 {figures['p99']:.1f} ms ({figures['requests']:.0f} requests)"
    )
