"""Full sync benchmark: how close a full sync runs to RentEngine's rate limit, and how fast the
mirror ingests when the limit is off.

    python bench/sync.py [--size small|medium|large]

1. Starts the simulator (its default limit, 30 requests per 5 s) and runs a full sync of every
   resource into a scratch PostgreSQL database through the real client and the shared limiter
   (28 per 5 s), timing it: requests, 429s, requests/s against the simulator's limit.
2. Runs it again unchanged: a re-run must change no rows.
3. Restarts the simulator with `--rate-limit off`, lifts our limiter, and syncs into a fresh database:
   rows ingested per second into PostgreSQL (the mirror must never be the bottleneck).

Writes bench/results/sync.json. Needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres
is used to create the scratch database) and, optionally, REDIS_URL for the shared limiter.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TOKEN = "bench-sync-token"  # the simulator's only token; a local process, not a secret
SIMULATOR_LIMIT_PER_S = 30 / 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scratch_database_url(name: str) -> str:
    admin = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    parsed = urlparse(admin)
    if not parsed.scheme.startswith("postgres"):
        sys.exit("bench/sync.py measures ingest into PostgreSQL: set DATABASE_URL to a PostgreSQL URL")
    import psycopg

    with psycopg.connect(urlunparse(parsed._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(parsed._replace(path=f"/{name}"))


def start_simulator(size: str, port: int, rate_limit: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rentengine_simulator", "--port", str(port), "--size", size, "--seed", "42",
         "--token", TOKEN, "--rate-limit", rate_limit, "--activity", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    deadline = time.monotonic() + 300
    for line in iter(process.stdout.readline, b""):
        if b"ready on" in line:
            print("  " + line.decode().strip()[:160])
            return process
        if time.monotonic() > deadline:
            break
    process.kill()
    sys.exit("the simulator did not start")


def run_sync(env: dict[str, str], label: str) -> dict[str, float]:
    """One full sync in a fresh process (so settings come from env), returning its figures."""
    code = (
        "import django, json, time; django.setup()\n"
        "from django.core.management import call_command\n"
        "from integrations.rentengine import sync\n"
        "from integrations.rentengine.client import RentEngineClient\n"
        "from integrations.rentengine.limiter import Lane\n"
        "from integrations.rentengine.models import SyncState\n"
        "call_command('migrate', verbosity=0)\n"
        "client = RentEngineClient(lane=Lane.BACKFILL)\n"
        "began = time.monotonic(); failed = []\n"
        "for name in sync.resources():\n"
        "    run = sync.run_start(name, full=True); outcome = 'more'\n"
        "    while outcome == 'more': outcome = sync.run_step(name, run, client=client, budget=30)\n"
        "    if outcome != 'done': failed.append(name)\n"
        "seconds = time.monotonic() - began\n"
        "states = SyncState.objects.all()\n"
        "print(json.dumps({'seconds': seconds, 'requests': client.stats.requests, 'http_429': client.stats.http_429,\n"
        "  'rows': sum(s.last_rows_seen for s in states), 'changed': sum(s.last_rows_changed for s in states), 'failed': failed}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-4000:])
        sys.exit(f"{label}: sync failed")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"  {label}: {figures['rows']:,} rows, {figures['requests']} requests, {figures['http_429']} x 429, "
          f"{figures['seconds']:.1f} s, {figures['changed']:,} changed{', FAILED: ' + ','.join(figures['failed']) if figures['failed'] else ''}")  # fmt: skip
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="medium", choices=["small", "medium", "large"])
    args = parser.parse_args()
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "RENTENGINE_API_TOKEN": TOKEN,
        "LOG_LEVEL": "WARNING",
    }
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:  # start from an empty shared limiter log
        import redis

        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter("rentengine:limiter:*"):
            client.delete(key)

    print(f"== sync benchmark, {args.size} dataset")
    port = free_port()
    simulator = start_simulator(args.size, port, "30/5s")
    try:
        env = {**base_env, "DATABASE_URL": scratch_database_url("leasing_bench_sync"),
               "RENTENGINE_BASE_URL": f"http://127.0.0.1:{port}/api/public/v1"}  # fmt: skip
        limited = run_sync(env, "rate-limited full sync")
        rerun = run_sync(env, "unchanged re-run")
    finally:
        simulator.terminate()
        simulator.wait()

    port = free_port()
    simulator = start_simulator(args.size, port, "off")
    try:
        env = {**base_env, "DATABASE_URL": scratch_database_url("leasing_bench_ingest"),
               "RENTENGINE_BASE_URL": f"http://127.0.0.1:{port}/api/public/v1", "RENTENGINE_RATE_LIMIT": "100000",
               "RENTENGINE_RATE_WINDOW_SECONDS": "1"}  # fmt: skip
        unlimited = run_sync(env, "unlimited ingest")
    finally:
        simulator.terminate()
        simulator.wait()

    requests_per_s = limited["requests"] / limited["seconds"]
    result = {
        "size": args.size,
        "rows": limited["rows"],
        "seconds": round(limited["seconds"], 2),
        "requests": limited["requests"],
        "http_429": limited["http_429"],
        "requests_per_s": round(requests_per_s, 3),
        "limit_per_s": SIMULATOR_LIMIT_PER_S,
        "ratio_to_bound": round(requests_per_s / SIMULATOR_LIMIT_PER_S, 3),
        "rows_per_s": round(limited["rows"] / limited["seconds"], 1),
        "rerun_rows_changed": rerun["changed"],
        "rerun_requests": rerun["requests"],
        "ingest_rows": unlimited["rows"],
        "ingest_seconds": round(unlimited["seconds"], 2),
        "ingest_rows_per_s_unlimited": round(unlimited["rows"] / unlimited["seconds"], 1),
        "failed_resources": sorted(set(limited["failed"]) | set(rerun["failed"]) | set(unlimited["failed"])),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sync.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
