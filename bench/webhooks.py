"""Webhook ingest benchmark: an open-loop rate of deliveries against uvicorn (2 workers) and PostgreSQL.

    .venv/bin/python bench/webhooks.py [--size small] [--rate 200] [--duration 60] [--no-drain]

What it does (issue 8, "Benchmark"):
1. migrates a dedicated database (`<DATABASE_URL's name>_bench_webhooks`, created if missing) and
   empties the inbox and the mirror tables the deliveries touch;
2. starts `uvicorn dashboard.asgi:application --workers 2` on a free loopback port (DEBUG off);
3. sends deliveries open-loop: delivery i is *scheduled* at start + i/rate whatever happened before,
   and its latency is measured from that scheduled time to the last byte of the answer, so a slow
   server shows up as latency instead of silently lowering the rate (no coordinated omission);
   about 5% are QStash-style redeliveries of an earlier message (same Upstash-Message-Id);
4. counts the stored rows: every acknowledged message must be in the inbox (`lost` = acked - stored);
5. (unless --no-drain) starts a Celery worker and times how fast it applies the backlog to the mirror.

The load generator shares the machine's cores with the server, so it is a few hundred lines of
asyncio on raw keep-alive sockets (uvloop when available) with every request pre-encoded.

Browser figures (`dom_latency_*`: delivery sent -> change visible on an open page) are measured by
bench/live.py (Chromium on the live screens); `dom_latency()` carries its latest figures over from
bench/results/live.json (`make bench` runs live.py before this), or leaves them null with a note.

Writes bench/results/webhooks.json and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from support import free_port, migrate, postgres_bench_database, process_stop, wait_listening

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "webhooks.json"
PYTHON = sys.executable
KEY = "bench-webhook-key-" + uuid.uuid4().hex
ACCOUNT = "6ecca3ec-0000-4000-8000-00000000a001"
PATH = "/webhooks/rentengine/"
DUPLICATE_SHARE = 0.05
TABLES_EMPTIED = (
    "rentengine_webhookdelivery", "rentengine_webhookrejection", "rentengine_unit", "rentengine_prospect",
    "rentengine_prospectassignee", "rentengine_leasingevent", "rentengine_lockboxevent", "rentengine_lockbox",
)  # fmt: skip


# --- setup -----------------------------------------------------------------------------------------


def database_prepare(url: str, env: dict[str, str]) -> None:
    """Migrated, with the tables the deliveries touch emptied."""
    import psycopg

    migrate(env)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES_EMPTIED)} RESTART IDENTITY CASCADE")
        conn.execute("VACUUM ANALYZE rentengine_webhookdelivery")


def asgi_application() -> Any:
    """uvicorn --factory target: the project's ASGI app with the webhook fast path around it, for as
    long as dashboard/asgi.py does not wrap it itself (integrations.rentengine.webhooks.fast_path)."""
    from dashboard.asgi import application
    from integrations.rentengine.webhooks import webhook_fast_path

    return application if getattr(application, "webhook_fast_path", False) else webhook_fast_path(application)


def server_app(plain: bool) -> tuple[list[str], str]:
    """uvicorn's app arguments and a description of what is served."""
    wired = "webhook_fast_path" in (ROOT / "dashboard" / "asgi.py").read_text()
    if plain or wired:
        return ["dashboard.asgi:application"], "dashboard.asgi" + (
            " (webhook fast path wired)" if wired else " (full middleware)"
        )
    return [
        "--factory",
        "bench.webhooks:asgi_application",
    ], "dashboard.asgi + webhooks_asgi.webhook_fast_path (not wired in dashboard/asgi.py yet)"


def server_start(port: int, env: dict[str, str], workers: int, log: Path, app: list[str]) -> subprocess.Popen[bytes]:
    argv = [PYTHON, "-m", "uvicorn", *app, "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--no-access-log", "--log-level", "warning"]  # fmt: skip
    out = open(log, "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    wait_listening(port, process, log)
    return process


def cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its children (uvicorn's workers), from /proc."""
    total = 0.0
    pids = [root]
    try:
        pids += [int(p) for p in Path(f"/proc/{root}/task/{root}/children").read_text().split()]
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return float("nan")
    return total


# --- deliveries ------------------------------------------------------------------------------------


def _at(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_790_000_000 + seconds)) + f".{int(seconds * 1e6) % 1_000_000:06d}Z"


def delivery_bodies(count: int, seed: int = 8) -> list[tuple[str, bytes]]:
    """(message id, JSON body) pairs: a realistic mix of the five tables and three types."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        kind = rng.random()
        if kind < 0.4:
            prospect = rng.randrange(1, 5000)
            record = {"id": 10_000_000 + i, "prospect_id": prospect, "event_type": rng.choice(["Log Note", "Showing Scheduled", "Contacted, Awaiting Information", "Assign to User"]),
                      "source": "Phone Call", "notes": "bench", "context": {}, "planned_date_time": None, "next_follow_up": None,
                      "created_by": None, "deleted": False, "created_at": _at(i)}  # fmt: skip
            payload = {"type": "INSERT", "table": "leasing_events", "record": record, "old_record": None}
        elif kind < 0.7:
            record = {"id": rng.randrange(1, 5000), "account_id": ACCOUNT, "name": f"Prospect {i}", "email": None, "phone": "5551234567",
                      "status": "New", "source": "Zillow", "unit_of_interest": rng.randrange(1, 500), "created_at": _at(0), "updated_at": _at(i)}  # fmt: skip
            payload = {"type": "UPDATE", "table": "prospects", "record": record, "old_record": record}
        elif kind < 0.9:
            record = {"id": rng.randrange(1, 500), "account_id": ACCOUNT, "status": rng.choice(["Available", "On Hold", "Leased"]),
                      "bedrooms": "3", "bathrooms": "2", "sqft": "1200", "target_rental_rate": str(rng.randrange(900, 3000)),
                      "is_occupied": False, "created_at": _at(0), "updated_at": _at(i)}  # fmt: skip
            payload = {"type": "UPDATE", "table": "units", "record": record, "old_record": record}
        else:
            record = {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "lockbox_id": "0b9c1e5e-1111-4bbb-8ccc-000000000001",
                      "event_type": "Generate Code", "unit_id": str(rng.randrange(1, 500)), "created_at": _at(i), "data": None}  # fmt: skip
            payload = {"type": "INSERT", "table": "lockbox_events", "record": record, "old_record": None}
        out.append((f"msg_bench_{seed}_{i}", json.dumps(payload).encode()))
    return out


def request_bytes(port: int, message_id: str, body: bytes, retried: int) -> bytes:
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nUser-Agent: Upstash-QStash\r\n"
        f"X-API-Key: {KEY}\r\nUpstash-Message-Id: {message_id}\r\nUpstash-Retried: {retried}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


# --- the load generator ----------------------------------------------------------------------------


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    acked: set[str] = field(default_factory=set)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    connections_opened: int = 0
    behind_max_ms: float = 0.0


class Pool:
    """Keep-alive connections; a request takes an idle one or opens another (never waits for one)."""

    def __init__(self, port: int, outcome: Outcome) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.outcome = outcome

    async def send(self, data: bytes) -> int:
        if self.idle:
            reader, writer = self.idle.pop()
            try:
                return await self._exchange(reader, writer, data)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass  # the server closed an idle keep-alive connection: send again on a new one, as clients do
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.outcome.connections_opened += 1
        return await self._exchange(reader, writer, data)

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes) -> int:
        try:
            writer.write(data)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length, close, chunked = 0, False, False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
                elif name == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
            if chunked:
                while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                    await reader.readexactly(size + 2)
                await reader.readuntil(b"\r\n")
            elif length:
                await reader.readexactly(length)
        except BaseException:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer))
        return status

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def load(port: int, requests: list[tuple[str, bytes]], rate: float, outcome: Outcome) -> float:
    """Send every request at its scheduled time; returns the wall time the whole run took."""
    loop = asyncio.get_running_loop()
    pool = Pool(port, outcome)
    tasks: set[asyncio.Task[None]] = set()

    async def one(message_id: str, data: bytes, scheduled: float) -> None:
        try:
            status = await asyncio.wait_for(pool.send(data), timeout=30)
        except Exception as exc:
            name = type(exc).__name__
            outcome.errors[name] = outcome.errors.get(name, 0) + 1
            return
        outcome.latencies.append(time.perf_counter() - scheduled)
        outcome.statuses[status] = outcome.statuses.get(status, 0) + 1
        if 200 <= status < 300:
            outcome.acked.add(message_id)

    # perf_counter, not loop.time(): uvloop's clock has millisecond resolution.
    start = time.perf_counter() + 0.05
    for i, (message_id, data) in enumerate(requests):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            outcome.behind_max_ms = max(outcome.behind_max_ms, -delay * 1000)
        task = loop.create_task(one(message_id, data, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*list(tasks))
    pool.close()
    return time.perf_counter() - start


async def warm_up(port: int, count: int) -> None:
    """Let both server processes import and connect before measuring (their first requests are slow)."""
    outcome = Outcome()
    pool = Pool(port, outcome)
    bodies = delivery_bodies(count, seed=99)
    for start in range(0, count, 10):
        await asyncio.gather(*(pool.send(request_bytes(port, m, b, 0)) for m, b in bodies[start : start + 10]))
    pool.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run_load(port: int, rate: float, duration: float) -> tuple[Outcome, list[tuple[str, bytes]], float, float]:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    count = int(rate * duration)
    bodies = delivery_bodies(count)
    rng = random.Random(1)
    requests: list[tuple[str, bytes]] = []
    sent_before: list[int] = []
    for i, (message_id, body) in enumerate(bodies):
        if sent_before and rng.random() < DUPLICATE_SHARE:
            j = rng.choice(sent_before[-200:])  # a redelivery of a recent message, as QStash retries do
            requests.append((bodies[j][0], request_bytes(port, bodies[j][0], bodies[j][1], 1)))
        else:
            requests.append((message_id, request_bytes(port, message_id, body, 0)))
        sent_before.append(i)
    asyncio.run(warm_up(port, 100))
    outcome = Outcome()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    wall = asyncio.run(load(port, requests, rate, outcome))
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return outcome, requests, wall, cpu


# --- after the load --------------------------------------------------------------------------------


def stored_count(url: str, message_ids: set[str]) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        keys = [f"msg:{m}" for m in message_ids]
        stored = conn.execute("SELECT count(*) FROM rentengine_webhookdelivery WHERE dedupe_key = ANY(%s)", [keys]).fetchone()
        total = conn.execute("SELECT count(*) FROM rentengine_webhookdelivery").fetchone()
    return int(stored[0] if stored else 0), int(total[0] if total else 0)


def drain(url: str, env: dict[str, str], log: Path, timeout: float = 300) -> dict[str, Any]:
    """Start a worker (prefork, 2 processes) and time how fast it applies the waiting deliveries."""
    import psycopg

    def waiting() -> int:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM rentengine_webhookdelivery WHERE status = 'received'").fetchone()
        return int(row[0] if row else 0)

    backlog = waiting()
    argv = [PYTHON, "-m", "celery", "-A", "dashboard", "worker", "-P", "prefork", "-c", "2", "-l", "warning",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"bench-{uuid.uuid4().hex[:6]}@localhost"]  # fmt: skip
    out = open(log, "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    started = time.monotonic()
    first_progress: float | None = None
    try:
        # The apply task queued during the load (the receiver asks for one) starts it; the sweeper
        # task is the fallback if that message was lost.
        subprocess.run(
            [PYTHON, "-c", "from integrations.rentengine.webhooks import webhooks_apply; webhooks_apply.delay()"],
            cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "dashboard.settings"}, check=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        left = backlog
        while left and time.monotonic() - started < timeout:
            time.sleep(0.25)
            left = waiting()
            if first_progress is None and left < backlog:
                first_progress = time.monotonic()
        finished = time.monotonic()
    finally:
        process_stop(worker)
        out.close()
    with psycopg.connect(url) as conn:
        by_status = dict(conn.execute("SELECT status, count(*) FROM rentengine_webhookdelivery GROUP BY status").fetchall())
    applying = finished - (first_progress or finished)
    return {
        "backlog": backlog,
        "apply_seconds": round(applying, 2),
        "apply_per_s": round(backlog / applying, 1) if applying > 0 and not left else None,
        "worker_start_seconds": round((first_progress or finished) - started, 2),
        "by_status": by_status,
    }


def dom_latency() -> dict[str, Any]:
    """Delivery sent -> change visible in an open page: bench/live.py measures it in Chromium (its own
    database, uvicorn and worker: a page must be open and signed in while deliveries arrive one at a
    time, which this open-loop load is not); its latest figures are carried over here."""
    live = RESULTS.parent / "live.json"
    try:
        figures = json.loads(live.read_text())
        return {
            "dom_latency_p50_ms": figures["dom_latency_p50_ms"],
            "dom_latency_p95_ms": figures["dom_latency_p95_ms"],
            "dom_latency_note": f"from bench/live.py ({figures.get('samples')} deliveries, {figures.get('database')}, "
            f"{figures.get('broker')}): see bench/results/live.json",
        }
    except (OSError, ValueError, KeyError):
        return {
            "dom_latency_p50_ms": None,
            "dom_latency_p95_ms": None,
            "dom_latency_note": "not measured: run bench/live.py (make bench runs it before this)",
        }


# --- main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=("small", "full"), default="full", help="small: 15 s of load (under a minute in all)")
    parser.add_argument("--rate", type=float, default=200.0, help="deliveries per second, open loop")
    parser.add_argument("--duration", type=float, default=None, help="seconds of load (default 60, or 15 with --size small)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--no-drain", action="store_true", help="skip timing a worker applying the backlog")
    parser.add_argument(
        "--plain", action="store_true", help="serve dashboard.asgi as it is, without adding the webhook fast path"
    )
    args = parser.parse_args()
    duration = args.duration or (15.0 if args.size == "small" else 60.0)

    url = postgres_bench_database("webhooks", fresh=False, required_by="bench/webhooks.py")
    var_dir = Path(tempfile.mkdtemp(prefix="leasing-bench-webhooks-"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LEASING_VAR_DIR": str(var_dir),
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex + uuid.uuid4().hex,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "RENTENGINE_WEBHOOK_API_KEY": KEY,
        "LOG_LEVEL": "WARNING",
    }
    print(f"== preparing {urlparse(url).path.lstrip('/')} (broker: {'redis' if env.get('REDIS_URL') else 'filesystem'})")
    database_prepare(url, env)
    load_before = os.getloadavg()[0]
    port = free_port()
    app, served = server_app(args.plain)
    server = server_start(port, env, args.workers, var_dir / "uvicorn.log", app)
    try:
        print(f"== {args.rate:.0f} deliveries/s for {duration:.0f} s against uvicorn ({args.workers} workers) on :{port}")
        server_cpu_before = cpu_seconds(server.pid)
        outcome, requests, wall, cpu = run_load(port, args.rate, duration)
        server_cpu = cpu_seconds(server.pid) - server_cpu_before
    finally:
        process_stop(server)
    unique_sent = {m for m, _ in requests}
    stored, total_rows = stored_count(url, outcome.acked)
    answered = len(outcome.latencies)
    results: dict[str, Any] = {
        "deliveries": len(requests),
        "deliveries_per_s": round(answered / wall, 1),
        "ack_p50_ms": round(percentile(outcome.latencies, 0.50) * 1000, 2),
        "ack_p95_ms": round(percentile(outcome.latencies, 0.95) * 1000, 2),
        "ack_p99_ms": round(percentile(outcome.latencies, 0.99) * 1000, 2),
        "ack_max_ms": round(max(outcome.latencies, default=0) * 1000, 2),
        "lost": len(outcome.acked) - stored,
        "target_rate_per_s": args.rate,
        "duration_s": round(wall, 2),
        "unique_messages": len(unique_sent),
        "redeliveries": len(requests) - len(unique_sent),
        "stored_rows": total_rows,
        "statuses": {str(k): v for k, v in sorted(outcome.statuses.items())},
        "errors": outcome.errors,
        "connections_opened": outcome.connections_opened,
        "scheduler_behind_max_ms": round(outcome.behind_max_ms, 2),
        "loadgen_cpu_s": round(cpu, 2),
        # CPU time is what contention does not inflate much: the receiver's cost per delivery
        # (warm-up included, PostgreSQL's and Redis's own CPU not).
        "server_cpu_ms_per_delivery": round(server_cpu * 1000 / (len(requests) + 100), 3),
        "server": f"uvicorn {args.workers} workers, DEBUG off: {served}",
        "database": "postgresql",
        "broker": "redis" if env.get("REDIS_URL") else "filesystem",
        "cores": os.cpu_count(),
        # Other processes on the same cores inflate latency: the 1-minute load average, for context.
        "machine_load_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "size": args.size,
    }
    results.update(dom_latency())
    if not args.no_drain:
        print(f"== applying the backlog of {stored} deliveries with a worker (prefork, 2 processes)")
        results["apply"] = drain(url, env, var_dir / "worker.log")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    if results["lost"] or outcome.errors or any(int(s) >= 500 for s in results["statuses"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
