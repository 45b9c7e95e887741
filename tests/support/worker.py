"""Real Celery worker processes for tests, pointed at the test database and the test broker."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from celery import Celery
from django.conf import settings
from django.db import connection

from dashboard.celery import app as celery_app

ROOT = Path(settings.BASE_DIR)


def subprocess_environment(**extra: str) -> dict[str, str]:
    """The environment a child process needs to share this test run's database and broker."""
    env = dict(os.environ)
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        env["DATABASE_URL"] = f"postgres://{auth}@{host}:{port}/{db['NAME']}"
    else:
        env["SQLITE_PATH"] = str(db["NAME"])
    env.update(extra)
    return env


def worker_start(
    *, concurrency: int = 1, pool: str = "solo", queues: str | None = None, log_path: Path | None = None, **env: str
) -> subprocess.Popen[bytes]:
    """Start `celery worker` as its own process (group) and wait until it answers a ping (through
    its own broker: a REDIS_URL in `env` other than this run's is pinged there)."""
    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    argv = [sys.executable, "-m", "celery", "-A", "dashboard", "worker", "-P", pool, "-c", str(concurrency), "-l", "info",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", name]  # fmt: skip
    if queues:
        argv += ["-Q", queues]
    log = open(log_path or os.devnull, "ab")  # noqa: SIM115 - closed by worker_stop
    process = subprocess.Popen(
        argv, cwd=ROOT, env=subprocess_environment(**env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    process.log = log  # type: ignore[attr-defined]
    broker = env.get("REDIS_URL")
    try:
        with contextlib.ExitStack() as stack:
            pinger = celery_app
            if broker and broker != settings.REDIS_URL:
                # The control mailbox publishes through its app's producer pool: an app on that broker.
                pinger = stack.enter_context(contextlib.closing(Celery("ping", broker=broker, set_as_current=False)))
            deadline = time.monotonic() + 60
            while not pinger.control.ping(destination=[name], timeout=0.5):
                if process.poll() is not None:
                    raise RuntimeError(f"celery worker exited with {process.returncode}; log: {log_path}")
                if time.monotonic() > deadline:
                    raise RuntimeError("celery worker did not answer a ping within 60 s")
    except BaseException:
        worker_stop(process)
        raise
    return process


def beat_start(schedule_dir: Path, *, log_path: Path | None = None, **env: str) -> subprocess.Popen[bytes]:
    """Start `celery beat` (settings' CELERY_BEAT_SCHEDULE; pass its *_TICK_SECONDS in env); stop it with worker_stop."""
    argv = [sys.executable, "-m", "celery", "-A", "dashboard", "beat", "-l", "info", "--max-interval", "1",
            "-s", str(schedule_dir / "celerybeat-schedule")]  # fmt: skip
    log = open(log_path or os.devnull, "ab")  # noqa: SIM115 - closed by worker_stop
    process = subprocess.Popen(
        argv, cwd=ROOT, env=subprocess_environment(**env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    process.log = log  # type: ignore[attr-defined]
    return process


def worker_stop(process: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    """SIGTERM the worker's process group (SIGKILL with kill=True, or when it won't stop)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
    process.log.close()  # type: ignore[attr-defined]


@contextmanager
def celery_worker(
    *, concurrency: int = 1, pool: str = "solo", queues: str | None = None, log_path: Path | None = None, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker process for the duration of the block."""
    process = worker_start(concurrency=concurrency, pool=pool, queues=queues, log_path=log_path, **env)
    try:
        yield process
    finally:
        worker_stop(process)


def worker_children(process: subprocess.Popen[bytes]) -> list[int]:
    """The pids of a prefork worker's pool processes (its children), for SIGKILLing one mid-task."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == process.pid:
            children.append(int(stat.parent.name))
    return children
