"""One small simulator per test module (reset before each test), and a tiny webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.simulator import SimulatorHandle, running_simulator


@pytest.fixture(scope="module")
def sim_server() -> Iterator[SimulatorHandle]:
    with running_simulator(size="small", seed=1) as sim:
        yield sim


@pytest.fixture
def sim(sim_server: SimulatorHandle) -> SimulatorHandle:
    sim_server.reset()
    sim_server.set_rate_limit("30/5s")
    return sim_server


@dataclass
class Receiver:
    """Records every delivery; answers with `plan` statuses in turn (then 200)."""

    url: str = ""
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    plan: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self) -> list[dict[str, Any]]:
        with self.lock:
            return [d for d in self.deliveries if d["answered"] < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                status = state.plan.pop(0) if state.plan else 200
                state.deliveries.append(
                    {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": json.loads(body), "answered": status}
                )
            payload = b'{"success": true}' if status < 300 else b'{"error": "nope"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/rentengine/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
