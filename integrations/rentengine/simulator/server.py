"""Run the simulator under uvicorn until SIGTERM or SIGINT, then stop cleanly (exit status 0).

The socket is bound before uvicorn starts, so `--port 0` works: the chosen port is in the one line
printed when the simulator is ready, which is what tests/support/simulator.py waits for.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from typing import TextIO

import uvicorn

from integrations.rentengine.vocabulary import API_PREFIX

from .app import Simulator, simulator_new
from .config import DEFAULT_TOKEN, SimulatorConfig

READY = "RentEngine simulator ready on"


def serve(config: SimulatorConfig, *, out: TextIO = sys.stdout) -> int:
    # Bind first: a taken port should fail at once, not after seeding a large data set.
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    port = sock.getsockname()[1]
    began = time.perf_counter()
    sim = simulator_new(config)
    seeded = time.perf_counter() - began
    sock.listen(2048)
    sock.set_inheritable(True)
    server = uvicorn.Server(
        uvicorn.Config(
            sim,
            lifespan="on",
            loop="auto",
            http="auto",
            access_log=False,
            log_level="warning",
            server_header=False,
            timeout_keep_alive=5,
            timeout_graceful_shutdown=1,
        )
    )
    # uvicorn restores these after its own shutdown and re-raises the signal it caught: with
    # handlers that only note it, the process ends normally instead of dying by the signal.
    stopped_by: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, _frame: stopped_by.append(number))

    async def main() -> None:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if server.started:
            out.write(ready_line(sim, config.host, port, seeded) + "\n")
            out.flush()
        await serving

    asyncio.run(main(), loop_factory=server.config.get_loop_factory())
    sock.close()
    out.write("RentEngine simulator stopped.\n")
    out.flush()
    return 0


def ready_line(sim: Simulator, host: str, port: int, seeded: float) -> str:
    counts = {name: len(table.rows) for name, table in sim.state.tables.items()}
    shown_host = f"[{host}]" if ":" in host else host
    base = f"http://{shown_host}:{port}"
    config = sim.config
    limit = "off" if config.rate_limit.limit is None else f"{config.rate_limit.limit}/{config.rate_limit.window:g}s"
    parts = [
        f"{sim.state.size}: {counts['units']:,} units, {counts['prospects']:,} prospects, {counts['leasing_events']:,} leasing events",
        f"{counts['showings']:,} showings, {counts['lockboxes']:,} lockboxes, {counts['lockbox_events']:,} lockbox events",
        f"seed {sim.state.seed}, seeded in {seeded:.1f} s",
        f"rate limit {limit}",
        f"webhooks to {config.webhooks.url}" if config.webhooks.url else "no webhooks",
        f"activity {config.activity_per_minute:g}/min",
    ]
    if config.without:
        parts.append(f"without {', '.join(sorted(config.without))}")
    tokens = f"{len(config.tokens)} token(s)" + (f", dev token '{DEFAULT_TOKEN}'" if DEFAULT_TOKEN in config.tokens else "")
    return f"{READY} {base}{API_PREFIX} ({'; '.join(parts)}; {tokens}; control {base}/_simulator)"
