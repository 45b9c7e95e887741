"""What the many-people benchmarks (bench/streams.py, bench/load.py) share: the production-shaped
processes (uvicorn with N workers, Celery workers, beat), signed-in sessions, open live streams,
a page loop over HTTP, and a sampler of PostgreSQL's connections (pg_stat_activity).

Everything talks to 127.0.0.1 only, and every loop runs until a deadline it is given.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from support import ROOT, process_stop, wait_listening

PYTHON = sys.executable
SHARED_MACHINE_NOTE = (
    "taken on a shared 2-core development VM (other engineers' processes running at the same time): "
    "tails are noisy (+-30 % or more)"
)


def percentile(values: list[float], share: float) -> float:
    """Nearest rank over the sorted values (as bench/pages.py)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def spread(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 0.50), 1),
        "p95_ms": round(percentile(values, 0.95), 1),
        "p99_ms": round(percentile(values, 0.99), 1),
        "max_ms": round(max(values), 1) if values else 0.0,
    }


# --- processes ---------------------------------------------------------------------------------------


def server_environment(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The production settings (DEBUG off, a real secret) on the bench's own database and var dir."""
    metrics = var_dir / "prometheus"
    metrics.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DATABASE_URL": database_url,
        "LEASING_VAR_DIR": str(var_dir),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    process.log = out  # type: ignore[attr-defined]
    return process


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None:
        return
    process_stop(process)
    process.log.close()  # type: ignore[attr-defined]


def stop_all(processes: list[subprocess.Popen[bytes]], *, grace: float = 20.0) -> None:
    """SIGTERM to every process group at once, then SIGKILL to those still running after `grace` seconds
    (one after another, shutdowns of a busy worker and server would add up)."""

    def signal_to(process: subprocess.Popen[bytes], number: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(process.pid) == process.pid:  # started in a session of its own: the whole group
                os.killpg(process.pid, number)
            else:
                process.send_signal(number)

    for process in processes:
        if process.poll() is None:
            signal_to(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            signal_to(process, signal.SIGKILL)
            process.wait(timeout=10)
        log = getattr(process, "log", None)
        if log is not None:
            log.close()


def web_start(env: dict[str, str], port: int, workers: int, var_dir: Path) -> subprocess.Popen[bytes]:
    """uvicorn as the image's web role runs it (dashboard/entrypoint.sh), on 127.0.0.1."""
    log = var_dir / "uvicorn.log"
    process = start([PYTHON, "-m", "uvicorn", "dashboard.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                     "--workers", str(workers), "--lifespan", "off", "--no-access-log", "--log-level", "warning",
                     "--timeout-graceful-shutdown", "2"], env, log)  # fmt: skip
    wait_listening(port, process, log)
    return process


def worker_start(env: dict[str, str], name: str, concurrency: int, var_dir: Path) -> subprocess.Popen[bytes]:
    """A Celery worker (prefork) as the image's worker role runs it; returned once it answers a ping."""
    from dashboard.celery import app

    log = var_dir / f"{name.split('@')[0]}.log"
    process = start([PYTHON, "-m", "celery", "-A", "dashboard", "worker", "-P", "prefork", "-c", str(concurrency),
                     "-l", "warning", "--without-gossip", "--without-mingle", "-n", name], env, log)  # fmt: skip
    deadline = time.monotonic() + 90
    while not app.control.ping(destination=[name], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"the Celery worker did not start; see {log}")
    return process


def beat_start(env: dict[str, str], var_dir: Path) -> subprocess.Popen[bytes]:
    return start([PYTHON, "-m", "celery", "-A", "dashboard", "beat", "-l", "warning",
                  "-s", str(var_dir / "celerybeat-schedule")], env, var_dir / "beat.log")  # fmt: skip


def live_places_clear() -> None:
    """Stream places left in Redis by an earlier run that died (keys of this Redis database only)."""
    from django.conf import settings

    if not settings.REDIS_URL:
        return
    import redis

    from dashboard.live.capacity import KEY

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=KEY + "*"))
    if keys:
        client.delete(*keys)


def session_cookie(user: Any) -> str:
    """A signed-in session for `user` (as after the login form), its cookie value."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def cpu_seconds(root_pid: int) -> float:
    """User + system CPU seconds used so far by a process and its live descendants (/proc, Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [root_pid]
    while todo:
        pid = todo.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, ValueError, IndexError):
            continue
    return total


# --- live streams --------------------------------------------------------------------------------------


@dataclass
class Streams:
    """Open Server-Sent Events streams, read by one task each; counts what they were told."""

    port: int
    on_event: Callable[[str], None] | None = None  # called with each event's name (keep-alive comments too)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    events: collections.Counter[str] = field(default_factory=collections.Counter)
    open_ms: list[float] = field(default_factory=list)
    ended_early: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def open(self, path: str, cookie: str, cookie_name: str = "sessionid") -> int:
        """GET `path` as the browser's EventSource does; keeps it open when it answers 200."""
        began = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept: text/event-stream\r\n"
                f"Cache-Control: no-cache\r\nCookie: {cookie_name}={cookie}\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        try:
            status_line = await asyncio.wait_for(reader.readline(), timeout=60)
            status = int(status_line.split()[1]) if status_line else 0
            while (await asyncio.wait_for(reader.readline(), timeout=60)) not in (b"\r\n", b""):
                pass
        except (TimeoutError, ValueError, IndexError, ConnectionError):
            status = 0
        self.statuses[status] += 1
        if status != 200:
            writer.close()
            return status
        self.open_ms.append((time.perf_counter() - began) * 1000)
        self.writers.append(writer)
        self.tasks.append(asyncio.get_running_loop().create_task(self._read(reader)))
        return status

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            async for line in reader:
                if line.startswith(b"event: "):
                    event = line[7:].strip().decode()
                elif line.startswith(b": keep-alive"):
                    event = "keep-alive"
                else:
                    continue
                self.events[event] += 1
                if self.on_event is not None:
                    self.on_event(event)
        except (ConnectionError, asyncio.CancelledError):
            return
        self.ended_early += 1  # the server ended it (or went away) while we still listened

    @property
    def open_count(self) -> int:
        return sum(1 for task in self.tasks if not task.done())

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for writer in self.writers:
            writer.close()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()
        self.writers.clear()


# --- pages ---------------------------------------------------------------------------------------------


@dataclass
class PageTimes:
    """Client-side times of page requests (ms) by page kind, and answers that were not 200 by status."""

    by_kind: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    errors: collections.Counter[str] = field(default_factory=collections.Counter)

    def add(self, kind: str, ms: float, status: int) -> None:
        if status == 200:
            self.by_kind[kind].append(ms)
        else:
            self.errors[str(status)] += 1

    def all(self) -> list[float]:
        return [ms for values in self.by_kind.values() for ms in values]

    def summary(self) -> dict[str, Any]:
        return {
            "page_p50_ms": round(percentile(self.all(), 0.50), 1),
            "page_p95_ms": round(percentile(self.all(), 0.95), 1),
            "page_p99_ms": round(percentile(self.all(), 0.99), 1),
            "requests": len(self.all()) + sum(self.errors.values()),
            "pages": {kind: spread(values) for kind, values in sorted(self.by_kind.items())},
            "errors": dict(self.errors),
        }


async def timed_get(client: Any, kind: str, url: str, headers: dict[str, str], times: PageTimes) -> int:
    import httpx

    began = time.perf_counter()
    try:
        response = await client.get(url, headers=headers)
        status = response.status_code
    except httpx.HTTPError as exc:
        status = 0
        times.errors[type(exc).__name__] += 1
        return status
    times.add(kind, (time.perf_counter() - began) * 1000, status)
    return status


async def page_loop(client: Any, pages: list[tuple[str, str, dict[str, str]]], until: float, times: PageTimes, rng: Any) -> None:
    """Every page in a shuffled order, again and again, one at a time, until `until` (monotonic)."""
    order = list(pages)
    while time.monotonic() < until:
        rng.shuffle(order)
        for kind, url, headers in order:
            if time.monotonic() >= until:
                return
            await timed_get(client, kind, url, headers, times)


# --- PostgreSQL connections ------------------------------------------------------------------------------


class ConnectionSampler:
    """Samples the client connections to one database (pg_stat_activity, this sampler's own left
    out) every `every` seconds on a thread of its own: (monotonic time, {pid: state})."""

    def __init__(self, database_url: str, every: float = 0.1) -> None:
        self.url = database_url
        self.name = urlparse(database_url).path.lstrip("/")
        self.every = every
        self.samples: list[tuple[float, dict[int, str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.is_set():
                rows = conn.execute(
                    "SELECT pid, coalesce(state, '') FROM pg_stat_activity WHERE datname = %s "
                    "AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
                    [self.name],
                ).fetchall()
                self.samples.append((time.monotonic(), {int(pid): state for pid, state in rows}))
                self._stop.wait(self.every)

    def pids_now(self) -> set[int]:
        return set(self.samples[-1][1]) if self.samples else set()

    def window(self, start: float, end: float, *, leave_out: set[int] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
        """Connections seen between two monotonic times, those in `leave_out` (open before) not counted."""
        counts: list[int] = []
        active: list[int] = []
        first: dict[int, float] = {}
        last: dict[int, float] = {}
        for at, pids in self.samples:
            if start <= at <= end:
                mine = {pid: state for pid, state in pids.items() if pid not in leave_out}
                counts.append(len(mine))
                active.append(sum(1 for state in mine.values() if state == "active"))
                for pid in mine:
                    first.setdefault(pid, at)
                    last[pid] = at
        seconds = max(end - start, 1e-9)
        lived = [last[pid] - first[pid] for pid in first]
        return {
            "samples": len(counts),
            "peak": max(counts, default=0),
            "mean": round(sum(counts) / len(counts), 2) if counts else 0.0,
            "share_of_samples_at_zero": round(sum(1 for n in counts if n == 0) / len(counts), 3) if counts else None,
            "active_peak": max(active, default=0),
            # Seen by sampling: a lower bound (a connection opened and closed between two samples is missed).
            "distinct_backends_seen": len(first),
            "opened_per_s_seen": round(len(first) / seconds, 2),
            "longest_seen_s": round(max(lived, default=0.0), 2),
            "held_over_1s": sum(1 for s in lived if s > 1.0),
        }

    def peak_total(self, start: float, end: float) -> int:
        return max((len(pids) for at, pids in self.samples if start <= at <= end), default=0)
