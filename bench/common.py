"""Shared pieces of the benchmarks: a bench database, the web server as the Procfile runs it, and a
bounded load generator on loopback that prints requests/s, p50 and p99."""

from __future__ import annotations

import configparser
import gc
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

from bench.load_client import LoadClient
from tests.peer import free_port, web_server_command

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


def procfile_workers() -> int:
    """Web server processes as the Procfile sets them: WEB_CONCURRENCY, 4 when unset."""
    return int(os.environ.get("WEB_CONCURRENCY", "4"))


def configured_threads() -> int:
    """Threads per web server process, as uwsgi.ini sets them."""
    config = configparser.ConfigParser()
    config.read(ROOT / "uwsgi.ini")
    return config.getint("uwsgi", "threads")


class WebServer:
    """The Procfile's web process: uWSGI with uwsgi.ini, WEB_CONCURRENCY processes."""

    def __init__(
        self, database_url: str, workers: int | None = None, threads: int | None = None
    ) -> None:
        self.workers = workers or procfile_workers()
        self.threads = threads or configured_threads()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            web_server_command(self.port, processes=self.workers, threads=threads),
            cwd=ROOT,
            env=bench_env(database_url, OCPI_BASE_URL=self.url),
            stdout=subprocess.DEVNULL,  # uWSGI's start-up banner
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the web server did not start")

    def __str__(self) -> str:
        return f"uWSGI {self.workers} processes x {self.threads} threads"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


RequestSpec = tuple[str, str, bytes | None, dict[str, str]]


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (which may hold spaces), None once it exited."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()
    except OSError:
        return None


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes, and the children they have reaped, have used so
    far (Linux /proc). The reaped children count because PostgreSQL backends end when their
    connection closes: their CPU moves to the postmaster's tally instead of vanishing."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            ticks += sum(int(field) for field in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def process_tree(root: int) -> list[int]:
    """`root` and its child processes (the web server's master and its workers)."""
    pids = [root]
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat_fields(int(entry))) and int(fields[1]) == root:
            pids.append(int(entry))
    return pids


def postgres_pids() -> list[int]:
    """The local PostgreSQL server's processes: the backends serving the benchmark and the
    background writers whose work it causes (WAL, checkpoints)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/comm") as comm:
                if entry.isdigit() and comm.read().strip() == "postgres":
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


CpuMeters = dict[str, Callable[[], float]]


def server_cpu_meters(server: WebServer) -> CpuMeters:
    """CPU seconds of the web server, of PostgreSQL and of this load generator, read before and
    after a run: CPU per request, unlike latency, does not grow with queueing, so it tells
    whether a change made requests cheaper even on a noisy machine (read it beside `pace`)."""
    return {
        "web": lambda: cpu_seconds(process_tree(server.process.pid)),
        "db": lambda: cpu_seconds(postgres_pids()),
        "load": time.process_time,
    }


def host_pace_ms() -> float:
    """Milliseconds a fixed pure-Python loop takes now: a reading of the machine's own speed.

    On a shared virtual machine the same loop takes from 1x to 2x as long from one minute to the
    next (neighbours on the host); printed beside each run, it tells a slow run of the code from
    a run on a slow machine.
    """
    started = time.perf_counter()
    total = 0
    for n in range(1_000_000):
        total += n
    return (time.perf_counter() - started) * 1000


def drive(
    call: Callable[[int, int], None],
    *,
    clients: int = 8,
    calls_per_client: int = 500,
    max_seconds: float = 60.0,
    rate: float | None = None,
    cpu: CpuMeters | None = None,
) -> dict[str, float]:
    """Run `call(client, n)` from `clients` threads, each up to `calls_per_client` times
    (bounded in time too); returns calls/s ("rps"), p50 and p99 in ms.

    Without `rate` each client calls again as soon as its last call returned (closed loop: the
    figure is the capacity). With `rate` the clients together start `rate` calls/s on a fixed
    schedule (open loop, as chargers and partners do) and a latency counts from the call's
    scheduled time, so time spent queued behind a slow answer is not hidden.
    With `cpu` meters, each one's CPU milliseconds per call are added ("<name>_cpu_ms").
    """
    latencies: list[float] = []
    lock = threading.Lock()
    # The load generator must not stall its own clients: a full garbage collection of this
    # process (Django is loaded here too) pauses every client thread for tens of ms, and that
    # pause would be counted as the server's latency. Objects alive now are left out of it.
    gc.collect()
    gc.freeze()
    pace = host_pace_ms()
    deadline = time.monotonic() + max_seconds
    interval = clients / rate if rate else 0.0
    cpu_before = {name: read() for name, read in (cpu or {}).items()}
    started = time.perf_counter()

    failures: list[BaseException] = []

    def client(index: int) -> None:
        mine = []
        # Clients start spread over one interval so that a paced load is even.
        due = started + interval * index / clients
        try:
            for n in range(calls_per_client):
                if time.monotonic() > deadline:
                    break
                if interval:
                    time.sleep(max(0.0, due - time.perf_counter()))
                    begin, due = due, due + interval
                else:
                    begin = time.perf_counter()
                call(index, n)
                mine.append((time.perf_counter() - begin) * 1000)
        except Exception as exc:  # a thread's exception would otherwise vanish with it
            failures.append(exc)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        # Figures from the clients that survived would look like a run with fewer requests.
        raise RuntimeError(f"{len(failures)} of {clients} clients failed") from failures[0]
    elapsed = time.perf_counter() - started
    latencies.sort()
    figures = {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "pace_ms": pace,
    }
    for name, read in (cpu or {}).items():
        figures[f"{name}_cpu_ms"] = (read() - cpu_before[name]) * 1000 / len(latencies)
    return figures


def run_load(
    *,
    port: int,
    make_request: Callable[[int], RequestSpec],
    clients: int = 8,
    requests_per_client: int = 500,
    max_seconds: float = 60.0,
    expect_status: tuple[int, ...] = (200,),
    rate: float | None = None,
    cpu: CpuMeters | None = None,
) -> dict[str, float]:
    """HTTP load on loopback through `drive`: one keep-alive connection per client."""
    errors: list[str] = []
    connections = [LoadClient("127.0.0.1", port) for _ in range(clients)]

    def call(client: int, n: int) -> None:
        method, path, body, headers = make_request(client * requests_per_client + n)
        status, _, content = connections[client].request(method, path, body, headers)
        if status not in expect_status:
            errors.append(f"{method} {path} -> {status} {content[:200]!r}")

    try:
        figures = drive(
            call,
            clients=clients,
            calls_per_client=requests_per_client,
            max_seconds=max_seconds,
            rate=rate,
            cpu=cpu,
        )
    finally:
        for conn in connections:
            conn.close()
    if errors:
        raise RuntimeError(f"{len(errors)} unexpected answers, e.g. {errors[:3]}")
    return figures


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the runs (requests/s, p50 and p99 each on their own)."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def print_figures(label: str, figures: dict[str, float], runs: list[dict] | None = None) -> None:
    detail = ""
    if runs:
        detail = (
            " [runs: "
            + ", ".join(
                f"{r['rps']:.0f}/s p99 {r['p99']:.1f}"
                + (f" pace {r['pace_ms']:.0f}" if "pace_ms" in r else "")
                for r in runs
            )
            + "]"
        )
    cpu = ", ".join(
        f"{key.removesuffix('_cpu_ms')} {value:.2f}"
        for key, value in figures.items()
        if key.endswith("_cpu_ms")
    )
    print(
        f"{label}: {figures['rps']:.0f} requests/s, p50 {figures['p50']:.1f} ms, "
        f"p99 {figures['p99']:.1f} ms ({figures['requests']:.0f} requests)"
        + (f", CPU ms per request: {cpu}" if cpu else "")
        + detail,
        flush=True,
    )
