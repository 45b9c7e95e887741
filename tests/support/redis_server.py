"""A private `redis-server` for tests that stop, crash or restart it: never the machine's shared one.

    with running_redis(tmp_path) as redis_server:
        worker_start(REDIS_URL=redis_server.url(), ...)     # a worker whose broker, cache and limiter live there
        redis_server.crash()                                # SIGKILL: no persistence, so every key is gone
        redis_server.start()                                # back on the same port, empty

No persistence (no RDB, no AOF): a restart loses every queued message, cache key and limiter state,
which is the worst a restart can do (RELIABILITY 2.2: "Redis itself loses queued tasks without
persistence").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.support.uvicorn import free_port

REDIS_SERVER = shutil.which("redis-server")


@dataclass
class RedisServer:
    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    starts: int = field(default=0, init=False)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 30) -> None:
        if REDIS_SERVER is None:
            raise RuntimeError("redis-server is not installed")
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.directory), "--protected-mode", "no", "--maxmemory-policy", "noeviction",
                "--logfile", str(self.directory / "redis.log")]  # fmt: skip
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited with {self.process.returncode}; see {self.directory / 'redis.log'}")
                with contextlib.suppress(redis.RedisError):
                    if client.ping():
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not answer on {self.port} within {timeout} s")
                time.sleep(0.05)
        finally:
            client.close()

    def crash(self) -> None:
        """SIGKILL, as a crashed or OOM-killed Redis: clients see their connections reset."""
        self._stop(signal.SIGKILL)

    def stop(self) -> None:
        self._stop(signal.SIGTERM)

    def _stop(self, signum: int) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def restart(self) -> None:
        self.crash()
        self.start()


@contextlib.contextmanager
def running_redis(directory: Path) -> Iterator[RedisServer]:
    """A redis-server on a free loopback port, its files in `directory`; stopped afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    server = RedisServer(port=free_port(), directory=directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
