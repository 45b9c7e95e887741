"""Bulk-assign benchmark: how close a bulk assignment runs to RentEngine's rate limit, and that it
assigns every prospect exactly once.

    python bench/bulk_assign.py [--size small]      # small: 100 prospects; default: 1,000

1. Starts the simulator (its default limit, 30 requests per 5 s; no other lane busy) and copies its
   prospects into a scratch PostgreSQL database with the limit off.
2. Starts a real Celery worker (prefork, 2 processes, as `make demo` runs it) on that database.
3. "Clicks" confirm: POSTs the assign form for N prospects as a manager, through the real view.
4. Waits for the job to end and reads the simulator's request log: posts, seconds (click to the last
   answer), posts per second against the simulator's limit, first post after the click, duplicates
   (a reference RentEngine acted on twice) and lost prospects (not assigned in the simulator at the end).

Writes bench/results/bulk_assign.json. Needs PostgreSQL (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/postgres, is used to create the scratch database); uses REDIS_URL
for the broker and the shared limiter when set (the file-system broker otherwise).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from support import free_port, postgres_bench_database, simulator_start

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
TOKEN = "bench-bulk-token"  # the simulator's only token; a local process, not a secret
SIMULATOR_LIMIT_PER_S = 30 / 5
MAPLE = "6ecca3ec-0000-4000-8000-00000000a001"  # the simulator's first account
MANAGER_ID = "1259ef6e-61ee-42cb-b6bd-7fe547569d7c"  # Morgan, the token's owner
TARGET_ID = "2a1f0c3e-1111-4aaa-8bbb-000000000001"  # Priya, a Maple agent
REFERENCE = re.compile(r"bulk #\d+-\d+(?!\d)")
SIZES = {"small": (100, "small"), "medium": (1000, "medium")}  # prospects assigned, simulator size


def control(port: int, method: str, path: str, **kwargs: object) -> dict:
    import httpx

    response = httpx.request(method, f"http://127.0.0.1:{port}/_simulator{path}", timeout=120, **kwargs)  # type: ignore[arg-type]
    response.raise_for_status()
    return response.json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="medium", choices=sorted(SIZES), help="small: 100 prospects; medium: 1,000")
    args = parser.parse_args()
    prospects, sim_size = SIZES[args.size]

    print(f"== bulk-assign benchmark: {prospects} prospects")
    port = free_port()
    simulator = simulator_start(size=sim_size, port=port, token=TOKEN)
    worker = None
    try:
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "dashboard.settings",
                "DATABASE_URL": postgres_bench_database("bulk", required_by="bench/bulk_assign.py"),
                "RENTENGINE_BASE_URL": f"http://127.0.0.1:{port}/api/public/v1",
                "RENTENGINE_API_TOKEN": TOKEN,
                "LOG_LEVEL": "WARNING",
            }
        )
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        ids = fill(port, prospects)
        reset_shared_state()
        control(port, "POST", "/rate_limit", json={"rate_limit": "30/5s"})  # the default limit, windows emptied
        control(port, "DELETE", "/requests")
        worker = start_worker()
        clicked, job_id = click(ids)
        ended = wait_for(job_id, timeout=60 + prospects)
        result = figures(port, ids, clicked, ended, job_id)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        simulator.terminate()
        simulator.wait()
    result["size"] = args.size
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bulk_assign.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def fill(port: int, wanted: int) -> list[int]:
    """The simulator's prospects into the mirror (limit off for the copy), a manager and an agent."""
    from django.contrib.auth.models import User

    from dashboard.models import TeamMember
    from integrations.rentengine import mirror
    from integrations.rentengine.client import RentEngineClient
    from integrations.rentengine.limiter import LimiterConfig, limiter_create
    from integrations.rentengine.models import Account, Prospect

    control(port, "POST", "/rate_limit", json={"rate_limit": "off"})
    began = time.monotonic()
    private = limiter_create(config=LimiterConfig(limit=100_000, window=1))
    with RentEngineClient(limiter=private) as client:
        for page in client.prospects():
            mirror.prospects_apply(page.records)
    print(f"  mirrored {Prospect.objects.count():,} prospects in {time.monotonic() - began:.1f} s")
    maple = Account.objects.get(pk=MAPLE)
    for username, user_id, role in (
        ("bench-manager", MANAGER_ID, TeamMember.Role.MANAGER),
        ("bench-agent", TARGET_ID, TeamMember.Role.AGENT),
    ):
        user = User.objects.create_user(username=username, first_name=username.split("-")[1].title())
        TeamMember.objects.create(user=user, rentengine_user_id=user_id).accounts.set([maple], through_defaults={"role": role})
    ids = list(Prospect.objects.alive().filter(account=maple).order_by("id").values_list("id", flat=True)[:wanted])
    if len(ids) < wanted:
        sys.exit(f"the simulator has only {len(ids)} prospects in its first account")
    return ids


def reset_shared_state() -> None:
    """An empty shared limiter and an empty queue: no other lane is busy."""
    from dashboard.celery import app
    from integrations.rentengine.limiter import get_limiter

    get_limiter().backend.clear()
    app.control.purge()


def start_worker() -> subprocess.Popen[bytes]:
    from django.conf import settings

    from dashboard.celery import app

    name = f"bench-{os.getpid()}@localhost"
    log_path = settings.VAR_DIR / "bench-bulk-assign-worker.log"
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the worker
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "dashboard", "worker", "-P", "prefork", "-c", "2", "-l", "info",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", name],
        cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[name], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"the celery worker did not start ({log_path})")
    return process


def click(ids: list[int]) -> tuple[float, int]:
    """The manager confirms the dialog: the same POST the browser sends."""
    from django.contrib.auth.models import User
    from django.test import Client

    from dashboard.models import BulkAssignment

    client = Client()
    client.force_login(User.objects.get(username="bench-manager"))
    form = {"ids": ",".join(map(str, ids)), "user_ids": [TARGET_ID], "source": "Other", "note": "Benchmark"}
    # What the manager's browser asks first: the list, the dialog, the confirm step.
    for response in (
        client.get("/prospects/?assignee=all"),
        client.post("/assignments/new/", {"ids": form["ids"]}),
        client.post("/assignments/new/", {**form, "step": "confirm"}),
    ):
        assert response.status_code == 200, response.status_code
    clicked = time.time()
    response = client.post("/assignments/create/", form)
    print(f"  clicked at {clicked:.3f}")
    if response.status_code != 302:
        sys.exit(f"the assign form answered {response.status_code}: {response.content[:300]!r}")
    print(f"  confirm answered in {(time.time() - clicked) * 1000:.0f} ms")
    return clicked, BulkAssignment.objects.latest("pk").pk


def wait_for(job_id: int, *, timeout: float) -> float:
    from dashboard.bulk_assignment import progress_counts

    deadline = time.monotonic() + timeout
    next_report = time.monotonic() + 10
    while time.monotonic() < deadline:
        progress = progress_counts([job_id])[job_id]
        if progress.finished:
            return time.time()
        if time.monotonic() >= next_report:
            print(f"  {progress.settled}/{progress.total}" + (f" at {progress.rate:.1f}/s" if progress.rate else ""))
            next_report += 10
        time.sleep(0.2)
    sys.exit(f"the job did not finish within {timeout:.0f} s")


def figures(port: int, ids: list[int], clicked: float, ended: float, job_id: int) -> dict:
    from dashboard.bulk_assignment import progress_counts

    posts = control(port, "GET", "/requests", params={"method": "POST", "path": "/leasing_events"})["requests"]
    committed = [p for p in posts if (p["status"] and 200 <= p["status"] < 300) or p["fault"] == "drop_after_commit"]
    references = collections.Counter(REFERENCE.search(p["body"]["events"][0].get("notes", "")).group(0) for p in committed)  # type: ignore[union-attr]
    assigned = {
        p["id"]: set(p["assigned_user_ids"])
        for p in control(port, "GET", "/state", params={"resources": "prospects"})["prospects"]
    }
    progress = progress_counts([job_id])[job_id]
    last_answer = max(p["at"] + (p["duration_ms"] or 0) / 1000 for p in posts)
    seconds = last_answer - clicked
    rate = len(posts) / seconds
    return {
        "prospects": len(ids),
        "posts": len(posts),
        "seconds": round(seconds, 2),
        "posts_per_s": round(rate, 3),
        "limit_per_s": SIMULATOR_LIMIT_PER_S,
        "ratio_to_bound": round(rate / SIMULATOR_LIMIT_PER_S, 3),
        "duplicates": sum(n - 1 for n in references.values() if n > 1),
        "lost": sum(1 for pid in ids if assigned.get(pid) != {TARGET_ID}),
        "first_post_ms": round((min(p["at"] for p in posts) - clicked) * 1000, 1),
        "http_429": sum(1 for p in posts if p["status"] == 429),
        "job": {"done": progress.done, "failed": progress.failed, "skipped": progress.skipped, "unknown": progress.unknown},
        "job_seconds": round(ended - clicked, 2),
    }


if __name__ == "__main__":
    main()
