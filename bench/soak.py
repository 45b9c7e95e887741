"""Soak: the embedded demo (`manage.py demo` on SQLite and the file-system broker) under load for
half an hour, and what it lost, posted twice or grew on the way.

    .venv/bin/python bench/soak.py [--minutes 30] [--size medium|small] [--activity 600]
    .venv/bin/python bench/soak.py --size small --minutes 3          # a quick run

1. Starts the demo exactly as `make demo` does (migrate, then `manage.py demo`) in a scrubbed
   environment (no DATABASE_URL, REDIS_URL or SECRET_KEY) with a fresh var dir, on free ports, the
   simulator making `--activity` changes a minute (their webhooks flow to the web process).
2. Logs in as the demo manager over HTTP and confirms a bulk assignment every `--job-every`
   seconds (`--job-size` prospects, to the account's agents in turn); asks /healthz every 5 s and
   samples each process's RSS every 30 s.
3. After `--minutes`, waits for the jobs and deliveries to settle, stops the demo with Ctrl-C and
   reads the evidence (tests/embedded/stack.py): the supervisor's restart lines (crashes, restarts),
   task messages beat sent or the worker received that neither finished nor wait in the queue
   folder (tasks lost), the simulator's request log (an "Assign to User" acted on twice: posts
   duplicated; a done row RentEngine never saw: posts missing), deliveries never applied, and
   Tracebacks/CRITICAL/ERROR lines.

Memory growth is end minus start RSS per process (start: the first sample at least a minute in, once
the first sync has landed; worker children are the prefork pool). Stops by itself; writes
bench/results/soak.json and prints it. The var dir (with the demo's output, `demo.log`) is removed
after a clean run, kept after one that found something or with `--keep`.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.embedded.stack import Stack, running_stack  # noqa: E402 - needs the project root on sys.path

RESULTS = ROOT / "bench" / "results" / "soak.json"
SIZES = {"small": 90, "medium": 200}  # prospects per bulk job
SAMPLE_EVERY = 30.0
HEALTH_EVERY = 5.0
MEMORY_START_AFTER = 60.0
SETTLE_TIMEOUT = 180.0
TERMINAL = ("done", "failed", "skipped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=None, help="how long the load runs (default 30; 3 with --size small)")
    parser.add_argument("--size", default="medium", choices=sorted(SIZES), help="the simulator's data (default medium)")
    parser.add_argument("--activity", type=int, default=600, help="simulated changes a minute (default 600)")
    parser.add_argument("--job-every", type=float, default=300.0, help="seconds between bulk jobs (default 300)")
    parser.add_argument("--job-size", type=int, default=None, help="prospects per job (small: 90, medium: 200)")
    parser.add_argument("--keep", action="store_true", help="keep the var dir (its path is printed)")
    args = parser.parse_args()
    if args.minutes is None:
        args.minutes = 3.0 if args.size == "small" else 30.0
    job_size = args.job_size or SIZES[args.size]

    var_dir = Path(tempfile.mkdtemp(prefix="leasing-soak-")) / "var"
    print(f"== soak: {args.minutes:g} min, {args.size} data, {args.activity} changes a minute, var dir {var_dir}")
    began = time.monotonic()
    with running_stack(var_dir, size=args.size, activity=args.activity, startup_timeout=300) as stack:
        print(f"  demo ready in {time.monotonic() - began:.0f} s")
        run = soak(stack, minutes=args.minutes, job_every=args.job_every, job_size=job_size)
        if stack.alive():
            run["settled"] = settle(stack)
            run["posts"] = stack.posts()
            run["webhooks"] = stack.simulator("GET", "/webhooks", params={"recent": 0})
        else:
            # The demo stopped itself (a child it does not restart died, or one crashed too often):
            # what the database and the logs say, without the simulator's side.
            print("  the demo stopped before the end: " + next((line for line in stack.lines if "CommandError" in line), "?"))
            run["settled"] = stack.jobs()
            run["posts"] = {"acted": {}, "refused": None, "duplicated_references": {}}
            run["webhooks"] = {}
    result = figures(stack, run, args, job_size)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    clean = not (
        result["crashes"]
        or result["tasks_lost"]
        or result["posts_duplicated"]
        or result["problem_lines"]
        or result["demo_stopped_itself"]
    )
    if args.keep or not clean:
        print(f"  kept {var_dir} (the demo's output: {stack.log_path})")
    else:
        shutil.rmtree(var_dir.parent, ignore_errors=True)


def soak(stack: Stack, *, minutes: float, job_every: float, job_size: int) -> dict[str, Any]:
    """The load: jobs on a schedule, health checks and memory samples until the time is up."""
    start = time.monotonic()
    manager = stack.login()
    account, ids = stack.prospects(manager, at_least=min(job_size, 50), timeout=600)
    agents = stack.agents(account)
    jobs: list[int] = []
    samples: list[dict[str, Any]] = []
    pids: dict[str, set[int]] = collections.defaultdict(set)
    health = {"checks": 0, "failures": 0}
    next_job = next_sample = next_health = time.monotonic()
    next_report = start + 60
    end = start + minutes * 60
    while (now := time.monotonic()) < end and stack.alive():
        if now >= next_job:
            _, ids = stack.prospects(manager, at_least=1)
            chosen = [ids[(len(jobs) * job_size + n) % len(ids)] for n in range(min(job_size, len(ids)))]
            jobs.append(stack.bulk_assign(manager, sorted(set(chosen)), [agents[len(jobs) % len(agents)]], note="soak"))
            next_job += job_every
        if now >= next_health:
            health["checks"] += 1
            try:
                if httpx.get(f"{stack.url}/healthz", timeout=5).status_code != 200:
                    health["failures"] += 1
            except httpx.HTTPError:
                health["failures"] += 1
            next_health += HEALTH_EVERY
        if now >= next_sample:
            processes = stack.processes()
            for role, (pid, _) in processes.items():
                pids[role].add(pid)
            samples.append({"t": round(now - start), "rss_kb": {role: rss for role, (_, rss) in processes.items()}})
            next_sample += SAMPLE_EVERY
        if now >= next_report:
            print(f"  {(now - start) / 60:.0f} min: {len(jobs)} jobs, health {health}, {len(stack.crashes())} crashed children")
            next_report += 60
        time.sleep(0.5)
    return {
        "jobs": jobs,
        "samples": samples,
        "pids": {k: sorted(v) for k, v in pids.items()},
        "health": health,
        "ran_minutes": round((time.monotonic() - start) / 60, 1),
    }


def settle(stack: Stack) -> dict[str, Any]:
    """Jobs and deliveries once every row is terminal and no delivery has waited past the grace
    (stack.DELIVERY_GRACE_SECONDS), or as they are after SETTLE_TIMEOUT."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        state = stack.jobs()
        rows_done = all(row[2] in TERMINAL for row in state["rows"])
        if (rows_done and state["unapplied"] == 0) or time.monotonic() > deadline:
            return state
        time.sleep(3)


def memory(samples: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    if not samples:
        return {}
    first = next((s for s in samples if s["t"] >= MEMORY_START_AFTER), samples[0])
    last = samples[-1]
    growth = {}
    for role, end in last["rss_kb"].items():
        begin = first["rss_kb"].get(role)
        if begin:
            growth[role] = {
                "start_mb": round(begin / 1024, 1),
                "end_mb": round(end / 1024, 1),
                "growth_mb": round((end - begin) / 1024, 1),
                "growth_pct": round((end - begin) / begin * 100, 1),
            }
    return growth


def figures(stack: Stack, run: dict[str, Any], args: argparse.Namespace, job_size: int) -> dict[str, Any]:
    state, posts = run["settled"], run["posts"]
    crashes = stack.crashes()
    tasks = stack.tasks()
    rows = collections.Counter(row[2] for row in state["rows"])
    expected = collections.Counter(row[1] for row in state["rows"] if row[2] == "done")
    acted = collections.Counter({int(k): v for k, v in posts["acted"].items()})
    problems = stack.problems()
    return {
        "minutes": args.minutes,
        "ran_minutes": run["ran_minutes"],
        "demo_stopped_itself": next((line for line in stack.lines if "CommandError" in line), None),
        "size": args.size,
        "activity_per_minute": args.activity,
        "crashes": sum(len(v) for v in crashes.values()),
        "crashes_by_process": crashes,
        "restarts": {role: len(pids) - 1 for role, pids in run["pids"].items() if not role.startswith("worker-child")},
        "demo_exit_code": stack.process.returncode,
        "healthz_failures": run["health"]["failures"],
        "healthz_checks": run["health"]["checks"],
        "tasks_received": tasks["received"],
        "tasks_lost": tasks["lost"] + state["unapplied"] + sum(n for s, n in rows.items() if s not in TERMINAL),
        "tasks_lost_detail": {"in_worker": tasks["lost_in_worker"], "from_beat": tasks["lost_from_beat"]},
        "tasks_left_in_queue_at_stop": tasks["given_back_to_queue"],
        "bulk_jobs": len(run["jobs"]),
        "job_size": job_size,
        "job_rows": dict(rows),
        "job_rows_not_terminal": sum(n for s, n in rows.items() if s not in TERMINAL),
        **(
            {
                "posts": sum(acted.values()),
                # More posts RentEngine acted on for a prospect than its rows that are done.
                "posts_duplicated": sum(max(0, n - expected[pid]) for pid, n in acted.items()),
                "duplicated_references": posts["duplicated_references"],
                "posts_missing": sum(max(0, n - acted[pid]) for pid, n in expected.items()),
                "posts_refused": posts["refused"],
            }
            if posts["refused"] is not None
            else {
                "posts": None,
                "posts_duplicated": None,
                "posts_missing": None,
                "note": "the simulator was gone: posts not read",
            }
        ),
        "deliveries": state["deliveries"],
        # Waiting longer than the grace once the run settled (younger ones are on their way).
        "deliveries_unapplied": state["unapplied"],
        "webhooks_given_up": run["webhooks"].get("given_up"),
        "problem_lines": len(problems),
        "problems": problems[:20],
        "memory": memory(run["samples"]),
        "memory_samples": run["samples"],
    }


if __name__ == "__main__":
    main()
