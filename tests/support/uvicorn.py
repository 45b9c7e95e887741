"""uvicorn serving `dashboard.asgi` as a subprocess on a free loopback port, against the test database
(the live-update stream needs ASGI: pytest-django's live_server is WSGI). Restartable on the same
port, so a test can cut every open stream and bring the server back.

    with running_uvicorn(RENTENGINE_WEBHOOK_API_KEY="...") as server:
        page.goto(server.url + "/prospects/")
        server.stop(); server.start()          # the page reconnects by itself
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.worker import ROOT, subprocess_environment


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class UvicornServer:
    port: int
    env: dict[str, str]
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        argv = [sys.executable, "-m", "uvicorn", "dashboard.asgi:application", "--host", "127.0.0.1", "--port", str(self.port),
                "--lifespan", "off", "--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "1"]  # fmt: skip
        log = open(self.log_path or os.devnull, "ab")  # noqa: SIM115 - closed when the process is stopped
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.process.log = log  # type: ignore[attr-defined]
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.process.returncode}; log: {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn did not listen on {self.port} within {timeout} s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        process.log.close()  # type: ignore[attr-defined]


@contextlib.contextmanager
def running_uvicorn(*, log_path: Path | None = None, **env: str) -> Iterator[UvicornServer]:
    server = UvicornServer(port=free_port(), env=subprocess_environment(**env), log_path=log_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
