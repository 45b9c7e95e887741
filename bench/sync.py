"""Full sync benchmark: how close a full sync runs to RentEngine's rate limit, and how fast the
mirror ingests when the limit is off.

    python bench/sync.py [--size small|medium|large]
    python bench/sync.py --neighbour 12 --spurious-429 0.05 [--size small]

With `--neighbour N` / `--spurious-429 P` it runs one full sync against a budget shared with others
instead: another client takes N of the simulator's 30 requests of every 5 s, and a share P of all
requests is answered 429 whatever our rate (half with Retry-After, half bare). It writes
bench/results/sync_shared.json: `ratio_to_remaining_budget` (our requests/s over (30 - N) / 5),
`http_429`, `longest_pause_s` (the longest time with no request of ours in flight) and whether every
record landed. Goal: ratio >= 0.8, longest pause <= 10 s, complete.

The sync runs the way it runs in production: a Celery worker (prefork, 2 processes) executes the
chains of short steps that `sync_start` begins, every request going through the shared limiter.

1. Against the simulator at its default limit (30 requests per 5 s), a full sync of every resource
   into a scratch PostgreSQL database: requests, 429s, requests per second against the limit.
2. The same again, unchanged: a re-run must change no rows.
3. Against the simulator with `--rate-limit off` and our limiter lifted, into a fresh database:
   rows ingested per second (the mirror must never be the bottleneck).

Writes bench/results/sync.json. Needs PostgreSQL (DATABASE_URL names the server; scratch databases
are created next to it) and uses REDIS_URL for the broker and the limiter when set.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import httpx
from support import ROOT, free_port, postgres_bench_database, simulator_start

RESULTS = ROOT / "bench" / "results"
TOKEN = "bench-sync-token"  # the simulator's only token: a local process, not a secret
SIMULATOR_LIMIT_PER_S = 30 / 5

# Runs inside a Django process: start each resource once its prerequisites synced, wait for all.
DRIVER = """
import json, sys, time
import django
django.setup()
from django.core.management import call_command
from integrations.rentengine import sync
from integrations.rentengine.models import SyncState
call_command("migrate", verbosity=0)
specs = sync.resource_specs()
started, began = set(), time.monotonic()
while True:
    states = {s.resource: s for s in SyncState.objects.all()}
    for name, spec in specs.items():
        if name not in started and all(states.get(d) and states[d].last_success_at for d in spec.after):
            sync.sync_start_now(name, full=True)
            started.add(name)
    states = {s.resource: s for s in SyncState.objects.all()}
    if len(started) == len(specs) and all(states[n].run_id is None and states[n].last_outcome for n in specs):
        break
    if time.monotonic() - began > 3600:
        sys.exit("the sync did not finish within an hour")
    time.sleep(0.2)
seconds = time.monotonic() - began
print(json.dumps({
    "seconds": seconds,
    "rows": sum(s.last_rows_seen for s in states.values()),
    "changed": sum(s.last_rows_changed for s in states.values()),
    "requests": sum(s.last_requests for s in states.values()),
    "failed": sorted(n for n, s in states.items() if s.last_outcome != "ok"),
}))
"""


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "dashboard", "worker", "-P", "prefork", "-c", "2", "-l", "warning",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"bench-sync-{os.getpid()}@%h"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(3)  # the worker connects and declares its queue; messages sent earlier would wait anyway
    return worker


def run_sync(env: dict[str, str], sim_port: int, label: str) -> dict[str, object]:
    control = f"http://127.0.0.1:{sim_port}/_simulator"
    httpx.delete(f"{control}/requests")
    worker = start_worker(env)
    try:
        result = subprocess.run([sys.executable, "-c", DRIVER], cwd=ROOT, env=env, capture_output=True, text=True, timeout=4000)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-4000:])
        sys.exit(f"{label}: the sync failed")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    log = httpx.get(f"{control}/requests", params={"limit": 1_000_000}, timeout=60).json()["requests"]
    figures["requests"] = len(log)
    figures["http_429"] = sum(1 for r in log if r["status"] == 429)
    print(f"  {label}: {figures['rows']:,} rows, {figures['requests']} requests, {figures['http_429']} x 429, "
          f"{figures['seconds']:.1f} s, {figures['changed']:,} changed"
          f"{', FAILED: ' + ','.join(figures['failed']) if figures['failed'] else ''}")  # type: ignore[arg-type]  # fmt: skip
    return figures


COUNTS = """
import json
import django
django.setup()
from integrations.rentengine.models import LeasingEvent, Prospect, Unit
print(json.dumps({"units": Unit.objects.alive().count(), "prospects": Prospect.objects.alive().count(),
                  "leasing_events": LeasingEvent.objects.alive().count()}))
"""


def longest_pause(log: list[dict[str, object]]) -> float:
    """The longest stretch with none of our requests in flight, from first arrival to last answer."""
    spans = sorted((float(r["at"]), float(r["at"]) + float(r["duration_ms"] or 0) / 1000) for r in log)  # type: ignore[arg-type]
    longest, reach = 0.0, spans[0][1] if spans else 0.0
    for start, end in spans[1:]:
        longest = max(longest, start - reach)
        reach = max(reach, end)
    return longest


def shared_budget(args: argparse.Namespace, base_env: dict[str, str]) -> None:
    """One full sync against a budget shared with a noisy neighbour and a gateway's spurious 429s."""
    print(
        f"== sync on a shared budget, {args.size} dataset: neighbour takes {args.neighbour}/30, {args.spurious_429:.0%} spurious 429s"
    )
    port = free_port()
    faults = ["--neighbour", str(args.neighbour), "--spurious-429", str(args.spurious_429)]
    simulator = simulator_start(size=args.size, port=port, token=TOKEN, extra=faults)
    try:
        env = {**base_env, "DATABASE_URL": postgres_bench_database("shared", required_by="bench/sync.py"),
               "RENTENGINE_BASE_URL": f"http://127.0.0.1:{port}/api/public/v1"}  # fmt: skip
        figures = run_sync(env, port, "shared-budget full sync")
        log = httpx.get(f"http://127.0.0.1:{port}/_simulator/requests", params={"limit": 1_000_000}, timeout=60).json()[
            "requests"
        ]
        expected = httpx.get(
            f"http://127.0.0.1:{port}/_simulator/state", params={"resources": "units,prospects,leasing_events"}, timeout=60
        ).json()
        counted = subprocess.run([sys.executable, "-c", COUNTS], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        landed = json.loads(counted.stdout.strip().splitlines()[-1])
    finally:
        simulator.terminate()
        simulator.wait()
    seconds = float(figures["seconds"])  # type: ignore[arg-type]
    budget = (30 - args.neighbour) / 5
    want = {"units": len(expected["units"]), "prospects": len(expected["prospects"]),
            "leasing_events": sum(1 for e in expected["leasing_events"] if not e.get("deleted"))}  # fmt: skip
    result = {
        "size": args.size,
        "neighbour": args.neighbour,
        "spurious_429": args.spurious_429,
        "seconds": round(seconds, 1),
        "requests": len(log),
        "requests_per_s": round(len(log) / seconds, 3),
        "remaining_budget_per_s": budget,
        "ratio_to_remaining_budget": round(len(log) / seconds / budget, 3),
        "http_429": sum(1 for r in log if r["status"] == 429),
        "longest_pause_s": round(longest_pause(log), 2),
        "complete": not figures["failed"] and landed == want,
        "landed": landed,
        "expected": want,
        "failed_resources": figures["failed"],
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sync_shared.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--neighbour", type=int, default=None, help="another client takes this many of every 30 requests per 5 s")
    parser.add_argument("--spurious-429", type=float, default=None, help="share of requests answered 429 whatever the rate")
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="leasing-bench-sync-")
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "RENTENGINE_API_TOKEN": TOKEN,
        "LOG_LEVEL": "WARNING",
        "LEASING_VAR_DIR": var_dir,  # a private limiter file and broker folders in embedded mode
    }
    if os.environ.get("REDIS_URL"):
        import redis

        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        for key in client.scan_iter("rentengine:limiter:*"):  # start from an empty shared limiter
            client.delete(key)

    if args.neighbour is not None or args.spurious_429 is not None:
        args.neighbour, args.spurious_429 = args.neighbour or 0, args.spurious_429 or 0.0
        shared_budget(args, base_env)
        return

    print(f"== sync benchmark, {args.size} dataset")
    port = free_port()
    simulator = simulator_start(size=args.size, port=port, token=TOKEN)
    try:
        env = {**base_env, "DATABASE_URL": postgres_bench_database("sync", required_by="bench/sync.py"),
               "RENTENGINE_BASE_URL": f"http://127.0.0.1:{port}/api/public/v1"}  # fmt: skip
        limited = run_sync(env, port, "rate-limited full sync")
        time.sleep(5)  # let the simulator's window empty, as between two nightly passes
        rerun = run_sync(env, port, "unchanged re-run")
    finally:
        simulator.terminate()
        simulator.wait()

    port = free_port()
    simulator = simulator_start(size=args.size, port=port, token=TOKEN, rate_limit="off")
    try:
        env = {**base_env, "DATABASE_URL": postgres_bench_database("ingest", required_by="bench/sync.py"),
               "RENTENGINE_BASE_URL": f"http://127.0.0.1:{port}/api/public/v1", "RENTENGINE_RATE_LIMIT": "100000",
               "RENTENGINE_RATE_WINDOW_SECONDS": "1"}  # fmt: skip
        unlimited = run_sync(env, port, "unlimited ingest")
    finally:
        simulator.terminate()
        simulator.wait()

    seconds = float(limited["seconds"])  # type: ignore[arg-type]
    requests = int(limited["requests"])  # type: ignore[call-overload]
    rows = int(limited["rows"])  # type: ignore[call-overload]
    result = {
        "size": args.size,
        "rows": rows,
        "seconds": round(seconds, 2),
        "requests": requests,
        "http_429": limited["http_429"],
        "requests_per_s": round(requests / seconds, 3),
        "limit_per_s": SIMULATOR_LIMIT_PER_S,
        "ratio_to_bound": round(requests / seconds / SIMULATOR_LIMIT_PER_S, 3),
        "rows_per_s": round(rows / seconds, 1),
        "rerun_rows_changed": rerun["changed"],
        "rerun_requests": rerun["requests"],
        "rerun_http_429": rerun["http_429"],
        "ingest_rows": unlimited["rows"],
        "ingest_seconds": round(float(unlimited["seconds"]), 2),  # type: ignore[arg-type]
        "ingest_rows_per_s_unlimited": round(int(unlimited["rows"]) / float(unlimited["seconds"]), 1),  # type: ignore[call-overload, arg-type]
        "failed_resources": sorted({*limited["failed"], *rerun["failed"], *unlimited["failed"]}),  # type: ignore[misc]
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sync.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
