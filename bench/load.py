"""Load figure (issue 15): many people at once on the production shape, on this machine.

    .venv/bin/python bench/load.py                   # small: about 2 minutes (the default)
    .venv/bin/python bench/load.py --size medium     # the issue's figure: medium data, 1,000-prospect job, 100 webhooks/s

1. The simulator (`--size`, its default limit 30 requests / 5 s, `--activity` changes a minute sent
   as webhooks to our receiver) and a fresh database `<DATABASE_URL's name>_bench_load`, filled by a
   real full sync (`manage.py rentengine_sync --full`, both limits lifted for the fill only).
2. The production shape: `uvicorn dashboard.asgi:application --workers 2` (DEBUG off), one Celery
   worker with 2 prefork processes, beat (sync ticks every 5 s; prospects, leasing and lockbox
   events due every 20 s, so incremental syncs run during the load), PostgreSQL, the environment's
   REDIS_URL (broker, cache, notices, the shared limiter). Sessions are made as the login form makes
   them.
3. Unloaded: one person requests the page mix one page after another (no think time) for
   `--unloaded-seconds`, nothing else running but the idle worker and beat.
4. Loaded, for `--seconds`, all at once:
   - `--people` signed-in agents of the first account, each with a live stream open (as every page
     opens one), browsing lists (prospects, units, showings, lockboxes, with filters and an htmx
     filter swap), search, object pages (prospect, unit, lockbox: their timelines) and the lockbox
     activity feed, thinking 2-5 s between pages. Their streams are held and read; only the watcher
     below refetches on a notice (a real page would refetch its rows too: that load is left out);
   - webhook deliveries at `--webhook-rate` a second (UPDATEs of the account's prospects), each
     timed to its answer (the ack);
   - one watcher with the prospects list open: every 2 s a delivery renames one of its rows to a new
     marker; on each `changed` notice it waits the page's 120 ms batch and asks the list for its rows
     (`?live=rows&ids=...`, as static/js/live.js does); "visible" is the delivery's send until
     the answer carrying the marker;
   - a bulk assignment of `--bulk` prospects confirmed by the manager just before the load starts
     (the form's POST through the real view), posted by the worker under the shared limit;
   - the incremental syncs beat starts.
5. Then: RentEngine's request log (429s, bulk posts per second against the 6/s bound), the job's
   progress, the peak of PostgreSQL connections to the bench database (pg_stat_activity every 100 ms).

Writes bench/results/load.json (`page_p95_ms`, `pages` by kind, `webhook_ack_p95_ms`, `visible_p95_ms`,
`bulk_ratio_to_bound`, `http_429`, `errors_total`, `errors`, `pg_connections_peak`, `unloaded`, ...)
and prints it. Exits 1 when any answer was a 5xx. Goals (issue 15): page p95 <= 100 ms under load, ack
p95 <= 25 ms, visible p95 <= 1 s, 0 errors, 0 x 429. Figures of a shared machine: the JSON says so.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from support import free_port, migrate, postgres_bench_database, simulator_start
from support.crowd import (
    PYTHON,
    SHARED_MACHINE_NOTE,
    ConnectionSampler,
    PageTimes,
    Streams,
    beat_start,
    cpu_seconds,
    live_places_clear,
    percentile,
    server_environment,
    session_cookie,
    stop_all,
    timed_get,
    web_start,
    worker_start,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "load.json"
TOKEN = "bench-load-token"  # the simulator's only token; a local process, not a secret
KEY = "bench-load-key-" + uuid.uuid4().hex
MAPLE = "6ecca3ec-0000-4000-8000-00000000a001"  # the simulator's first account
MANAGER_ID = "1259ef6e-61ee-42cb-b6bd-7fe547569d7c"  # Morgan, the token's owner
TARGET_ID = "2a1f0c3e-1111-4aaa-8bbb-000000000001"  # Priya, a Maple agent
BOUND_PER_S = 30 / 5  # the simulator's limit
SIZES = {
    # size: simulator size, load seconds, unloaded seconds, webhooks/s, bulk prospects
    "small": ("small", 60.0, 15.0, 50.0, 200),
    "medium": ("medium", 180.0, 30.0, 100.0, 1000),
}
THINK = (2.0, 5.0)
BATCH_S = 0.12  # static/js/live.js BATCH_MS
GOALS = {"page_p95_ms": 100, "webhook_ack_p95_ms": 25, "visible_p95_ms": 1000, "errors_total": 0, "http_429": 0}


def control(port: int, method: str, path: str, **kwargs: Any) -> Any:
    import httpx

    response = httpx.request(method, f"http://127.0.0.1:{port}/_simulator{path}", timeout=120, **kwargs)
    response.raise_for_status()
    return response.json()


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# --- setup -----------------------------------------------------------------------------------------------


def fill(env: dict[str, str], sim_port: int) -> float:
    """A real full sync from the simulator, both limits lifted for it."""
    control(sim_port, "POST", "/rate_limit", json={"rate_limit": "off"})
    began = time.monotonic()
    sync_env = {**env, "RENTENGINE_RATE_LIMIT": "100000", "RENTENGINE_RATE_WINDOW_SECONDS": "1"}
    result = subprocess.run([PYTHON, "manage.py", "rentengine_sync", "--full", "--quiet"], cwd=ROOT, env=sync_env, check=False)
    if result.returncode != 0:
        sys.exit(f"rentengine_sync --full failed ({result.returncode})")
    return time.monotonic() - began


def people_and_pages(people: int) -> dict[str, Any]:
    """The manager, `people` agents of the first account (signed in), and what their pages ask for."""
    from django.contrib.auth.models import User
    from django.db.models import Count

    from dashboard.models import TeamMember
    from integrations.rentengine.models import Account, Lockbox, Prospect, Unit

    account = Account.objects.get(pk=MAPLE)
    manager = User.objects.create_user(username="bench-manager", first_name="Bench", last_name="Manager")
    TeamMember.objects.create(user=manager, rentengine_user_id=MANAGER_ID).accounts.set(
        [account], through_defaults={"role": TeamMember.Role.MANAGER}
    )
    cookies = []
    for n in range(people + 1):  # the last one is the watcher
        user = User.objects.create_user(username=f"bench-agent-{n:02d}", first_name="Agent", last_name=f"{n:02d}")
        TeamMember.objects.create(user=user).accounts.set([account], through_defaults={"role": TeamMember.Role.AGENT})
        cookies.append(session_cookie(user))
    prospects = list(Prospect.objects.filter(account=account).order_by("-id").values_list("id", "name")[:2000])
    units = list(
        Unit.objects.filter(account=account).annotate(n=Count("prospects")).order_by("-n").values_list("id", flat=True)[:300]
    )
    boxes = [str(b) for b in Lockbox.objects.filter(account=account).values_list("id", flat=True)[:200]]
    words = sorted({(name or "").split()[0][:4] for _, name in prospects if name and name.split()})
    return {
        "account": str(account.id),
        "manager": manager,
        "cookies": cookies,
        "prospect_ids": [pid for pid, _ in prospects],
        "unit_ids": units,
        "lockbox_ids": boxes,
        "words": words or ["a"],
    }


def page_pick(rng: random.Random, data: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    """One page a person opens next: (kind, url, headers), weighted like a working day's browsing."""
    results = {"HX-Request": "true", "HX-Target": "results"}
    roll = rng.random()
    if roll < 0.16:
        return "prospects_list", rng.choice(["/prospects/", "/prospects/?assignee=all", "/prospects/?assignee=all&sort=name",
                                             "/prospects/?assignee=all&family=open", "/prospects/?assignee=unassigned"]), {}  # fmt: skip
    if roll < 0.22:
        return "prospects_filter_htmx", rng.choice(["/prospects/?assignee=all&family=open", "/prospects/?assignee=all&source=Zillow",
                                                    "/prospects/?assignee=all&sort=follow_up"]), results  # fmt: skip
    if roll < 0.30:
        return "units_list", rng.choice(["/units/", "/units/?status=Available", "/units/?bedrooms=3", "/units/?occupied=no"]), {}
    if roll < 0.37:
        return "showings", rng.choice(["/showings/", "/showings/?view=week"]), {}
    if roll < 0.42:
        return "lockboxes_list", "/lockboxes/", {}
    if roll < 0.50:
        return "lockbox_activity", rng.choice(["/lockboxes/activity/", "/lockboxes/activity/?type=Generate+Code"]), {}
    if roll < 0.63:
        return "search", f"/search/?q={rng.choice(data['words'])}", {}
    if roll < 0.85:
        return "prospect_page", f"/prospects/{rng.choice(data['prospect_ids'])}/", {}
    if roll < 0.95 or not data["lockbox_ids"]:
        return "unit_page", f"/units/{rng.choice(data['unit_ids'])}/", {}
    return "lockbox_page", f"/lockboxes/{rng.choice(data['lockbox_ids'])}/", {}


def bulk_click(ids: list[int]) -> tuple[float, int]:
    """The manager confirms the assign dialog: the same POSTs the browser sends (as bench/bulk_assign.py)."""
    from django.contrib.auth.models import User
    from django.test import Client

    from dashboard.models import BulkAssignment

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username="bench-manager"), backend="django.contrib.auth.backends.ModelBackend")
    form = {"ids": ",".join(map(str, ids)), "user_ids": [TARGET_ID], "source": "Other", "note": "Load benchmark"}
    client.post("/assignments/new/", {**form, "step": "confirm"})
    clicked = time.time()
    response = client.post("/assignments/create/", form)
    if response.status_code != 302:
        sys.exit(f"the assign form answered {response.status_code}: {response.content[:300]!r}")
    return clicked, BulkAssignment.objects.latest("pk").pk


_stamps: dict[int, datetime] = {}


def delivery(record: dict[str, Any], name: str) -> tuple[dict[str, str], bytes]:
    """An UPDATE renaming `record`, stamped later than any earlier version of it (the simulator's seeded
    data runs up to the end of this hour: a delivery stamped now would be older, and dropped as stale)."""
    last = _stamps.get(record["id"]) or datetime.fromisoformat(record["updated_at"].replace("Z", "+00:00"))
    moment = _stamps[record["id"]] = max(datetime.now(UTC), last + timedelta(milliseconds=1))
    fresh = {**record, "name": name, "updated_at": stamp(moment)}
    body = {"type": "UPDATE", "table": "prospects", "schema": "public", "record": fresh, "old_record": record}
    headers = {"Content-Type": "application/json", "X-API-Key": KEY, "Upstash-Message-Id": f"msg_bench_load_{uuid.uuid4().hex}"}
    return headers, json.dumps(body).encode()


# --- the load --------------------------------------------------------------------------------------------


async def person(client: Any, rng: random.Random, data: dict[str, Any], until: float, times: PageTimes) -> None:
    await asyncio.sleep(rng.uniform(0, THINK[1]))  # people don't all start in the same second
    while time.monotonic() < until:
        kind, url, headers = page_pick(rng, data)
        await timed_get(client, kind, url, headers, times)
        await asyncio.sleep(rng.uniform(*THINK))


async def unloaded_run(client: Any, data: dict[str, Any], seconds: float) -> PageTimes:
    rng = random.Random(15)
    times = PageTimes()
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        kind, url, headers = page_pick(rng, data)
        await timed_get(client, kind, url, headers, times)
    return times


async def webhook_flood(
    client: Any, records: list[dict[str, Any]], rate: float, until: float, acks: list[float], errors: Any
) -> None:
    """Deliveries at `rate` a second (open loop: each sent on its own schedule, not after the last answer)."""
    import httpx

    rng = random.Random(150)
    in_flight: set[asyncio.Task[None]] = set()

    async def one(n: int) -> None:
        headers, body = delivery(rng.choice(records), f"Load {n}")
        began = time.perf_counter()
        try:
            response = await client.post("/webhooks/rentengine/", content=body, headers=headers)
        except httpx.HTTPError as exc:
            errors[f"webhook {type(exc).__name__}"] += 1
            return
        if response.status_code == 200:
            acks.append((time.perf_counter() - began) * 1000)
        else:
            errors[str(response.status_code)] += 1

    start = time.monotonic()
    n = 0
    while True:
        due = start + n / rate
        if due >= until:
            break
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        task = asyncio.get_running_loop().create_task(one(n))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        n += 1
    await asyncio.gather(*in_flight, return_exceptions=True)


async def watcher(
    client: Any, port: int, cookie: str, cookie_name: str, data: dict[str, Any], records: dict[int, dict[str, Any]], until: float
) -> tuple[list[float], int]:
    """The prospects list open in one tab: marker renames sent every 2 s, their rows refetched on notices."""
    watched = [pid for pid in data["prospect_ids"][:50] if pid in records]
    notice = asyncio.Event()
    stream = Streams(port, on_event=lambda event: notice.set() if event == "changed" else None)
    status = await stream.open(f"/live/stream/?s=prospects:{data['account']}", cookie, cookie_name)
    if status != 200:
        print(f"  the watcher's stream answered {status}")
        return [], 0
    pending: dict[str, float] = {}
    visible: list[float] = []
    fetches: collections.Counter[str] = collections.Counter()
    rng = random.Random(1500)
    rows_url = f"/prospects/?assignee=all&live=rows&more=0&count_new=0&ids={','.join(map(str, watched))}"

    async def send_markers() -> None:
        n = 0
        while time.monotonic() < until - 3:
            marker = f"Seen{n:04d}x{uuid.uuid4().hex[:6]}"
            headers, body = delivery(records[rng.choice(watched)], f"Watch {marker}")
            pending[marker] = time.perf_counter()
            await client.post("/webhooks/rentengine/", content=body, headers=headers)
            n += 1
            await asyncio.sleep(2.0)

    sender = asyncio.get_running_loop().create_task(send_markers())
    deadline = until + 5  # late markers may still show
    while time.monotonic() < deadline and (not sender.done() or pending):
        try:
            await asyncio.wait_for(notice.wait(), timeout=max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            break
        notice.clear()
        await asyncio.sleep(BATCH_S)
        response = await client.get(rows_url, headers={"HX-Request": "true"})
        now = time.perf_counter()
        fetches[str(response.status_code)] += 1
        for marker in [m for m in pending if m in response.text]:
            visible.append((now - pending.pop(marker)) * 1000)
    sender.cancel()
    await asyncio.gather(sender, return_exceptions=True)
    await stream.close()
    print(
        f"  watcher: {len(visible)} markers seen, {len(pending)} not; rows fetched {dict(fetches)}; stream {dict(stream.events)}"
    )
    return visible, len(pending)


async def load_run(args: argparse.Namespace, port: int, data: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    import httpx
    from django.conf import settings

    name = settings.SESSION_COOKIE_NAME
    base = f"http://127.0.0.1:{port}"
    cookies = data["cookies"]
    times = PageTimes()
    acks: list[float] = []
    errors: collections.Counter[str] = collections.Counter()
    streams = Streams(port)
    rng = random.Random(15)
    by_id = {r["id"]: r for r in records}
    watched = set(data["prospect_ids"][:50])
    flood = [r for r in records if r["id"] not in watched] or records  # the watcher's markers are not overwritten
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200, keepalive_expiry=1.5)
    # Idle connections closed before uvicorn's 5 s keep-alive ends (think time is 2-5 s): a request
    # sent on a connection the server is closing fails where a browser would silently retry.
    people_limits = httpx.Limits(keepalive_expiry=1.5)
    clients = [httpx.AsyncClient(base_url=base, cookies={name: c}, timeout=30, limits=people_limits) for c in cookies]
    hooks = httpx.AsyncClient(base_url=base, timeout=30, limits=limits)
    try:
        await asyncio.gather(*(streams.open(f"/live/stream/?s=prospects:{data['account']}&s=units:{data['account']}&s=sync", c, name)
                               for c in cookies[:-1]))  # fmt: skip
        print(f"  {args.people} people's streams: answers {dict(streams.statuses)}")
        until = time.monotonic() + args.seconds
        results = await asyncio.gather(
            *(person(clients[n], random.Random(rng.random()), data, until, times) for n in range(args.people)),
            webhook_flood(hooks, flood, args.webhook_rate, until, acks, errors),
            watcher(clients[-1], port, cookies[-1], name, data, by_id, until),
        )
        visible, unseen = results[-1]
        stream_events = dict(streams.events)
        ended = streams.ended_early
        await streams.close()
    finally:
        for client in [*clients, hooks]:
            await client.aclose()
    return {
        "times": times,
        "acks": acks,
        "webhook_errors": errors,
        "visible": visible,
        "visible_unseen": unseen,
        "streams": {
            "answers": {str(k): v for k, v in streams.statuses.items()},
            "events": stream_events,
            "ended_by_server": ended,
        },
    }


async def unloaded_phase(port: int, data: dict[str, Any], seconds: float) -> PageTimes:
    import httpx
    from django.conf import settings

    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", cookies={settings.SESSION_COOKIE_NAME: data["cookies"][0]}, timeout=30
    ) as client:
        for _ in range(2):  # warm-up: every kind a couple of times in each worker
            await unloaded_run(client, data, 3.0)
        return await unloaded_run(client, data, seconds)


# --- main ------------------------------------------------------------------------------------------------


def rentengine_figures(sim_port: int, began: float, ended: float, clicked: float) -> dict[str, Any]:
    log = control(sim_port, "GET", "/requests")["requests"]
    window = [r for r in log if began <= r["at"] <= ended]
    posts = [r for r in log if r["method"] == "POST" and r["path"].endswith("/leasing_events") and r["at"] >= clicked]
    kinds = collections.Counter(f"{r['method']} {r['path'].split('?')[0].rsplit('/api/public/v1', 1)[-1]}" for r in window)
    return {
        "http_429": sum(1 for r in log if r["at"] >= began and r["status"] == 429),
        "requests_in_load": len(window),
        "requests_per_s_in_load": round(len(window) / max(ended - began, 1e-9), 2),
        "requests_by_kind": dict(kinds.most_common(12)),
        "bulk_posts": posts,
    }


def inbox_figures() -> dict[str, Any]:
    """The bench's deliveries as the receiver stored them: received (committed) until applied by the worker."""
    from integrations.rentengine.models import WebhookDelivery

    rows = WebhookDelivery.objects.filter(message_id__startswith="msg_bench_load_").values_list("received_at", "applied_at")
    lags = [(applied - received).total_seconds() * 1000 for received, applied in rows if applied is not None]
    return {
        "stored": len(rows),
        "applied": len(lags),
        "received_to_applied_p50_ms": round(percentile(lags, 0.50), 1),
        "received_to_applied_p95_ms": round(percentile(lags, 0.95), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small", help="small (default, ~2 min) or medium (the issue's)")
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=None, help="loaded phase (small 60, medium 180)")
    parser.add_argument("--unloaded-seconds", type=float, default=None, help="unloaded phase (small 15, medium 30)")
    parser.add_argument("--webhook-rate", type=float, default=None, help="deliveries a second (small 50, medium 100)")
    parser.add_argument("--bulk", type=int, default=None, help="prospects in the bulk job (small 200, medium 1,000)")
    parser.add_argument("--activity", type=float, default=60.0, help="the simulator's changes a minute (sent as webhooks)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--worker-concurrency", type=int, default=3, help="Celery task processes (the production default)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr] # progress shows in a log file as it happens
    sim_size, seconds, unloaded_s, rate, bulk = SIZES[args.size]
    args.seconds = args.seconds or seconds
    args.unloaded_seconds = args.unloaded_seconds or unloaded_s
    args.webhook_rate = args.webhook_rate or rate
    args.bulk = args.bulk or bulk

    database_url = postgres_bench_database("load", required_by="bench/load.py")
    var_dir = Path(tempfile.mkdtemp(prefix="leasing-bench-load-"))
    web_port, sim_port = free_port(), free_port()
    print(f"== simulator ({sim_size}, activity {args.activity:g}/min) and {database_url.rsplit('/', 1)[-1]}")
    simulator = simulator_start(
        size=sim_size, port=sim_port, token=TOKEN, extra=["--activity", str(args.activity),
                                                           "--webhook-url", f"http://127.0.0.1:{web_port}/webhooks/rentengine/",
                                                           "--webhook-key", KEY],
    )  # fmt: skip
    env = server_environment(
        database_url,
        var_dir,
        RENTENGINE_API_TOKEN=TOKEN,
        RENTENGINE_BASE_URL=f"http://127.0.0.1:{sim_port}/api/public/v1",
        RENTENGINE_WEBHOOK_API_KEY=KEY,
        RENTENGINE_SYNC_TICK_SECONDS="5",
        RENTENGINE_SYNC_INTERVALS="prospects=20,leasing_events=20,lockbox_events=20,units=60",
    )
    if not env.get("REDIS_URL"):
        print("NOTE: no REDIS_URL: the file-system broker and polled notices (not the production shape)")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        migrate(env)
        os.environ.update(env)
        import django

        django.setup()
        from dashboard.bulk_assignment import progress_counts
        from dashboard.celery import app as celery_app
        from integrations.rentengine.limiter import get_limiter
        from integrations.rentengine.models import Prospect

        fill_s = fill(env, sim_port)
        print(f"  full sync: {Prospect.objects.count():,} prospects in {fill_s:.1f} s")
        data = people_and_pages(args.people)
        # The records as RentEngine sent them (the mirror keeps each one's raw JSON): the deliveries change their names.
        records = [dict(raw) for raw in Prospect.objects.filter(account_id=MAPLE).order_by("id").values_list("raw", flat=True)]
        ids = sorted(r["id"] for r in records)[: args.bulk]
        if len(ids) < args.bulk:
            print(f"NOTE: the first account has {len(ids)} prospects: the bulk job takes them all")
        live_places_clear()
        get_limiter().backend.clear()
        celery_app.control.purge()
        control(sim_port, "POST", "/rate_limit", json={"rate_limit": "30/5s"})  # the default limit, windows emptied
        control(sim_port, "DELETE", "/requests")

        processes.append(web_start(env, web_port, args.workers, var_dir))
        print(f"== unloaded: one person, pages one after another ({args.unloaded_seconds:.0f} s)")
        unloaded = asyncio.run(unloaded_phase(web_port, data, args.unloaded_seconds))
        u = unloaded.summary()
        print(f"  {u['requests']} pages: p50 {u['page_p50_ms']} ms, p95 {u['page_p95_ms']} ms, p99 {u['page_p99_ms']} ms")

        processes.append(worker_start(env, f"bench-load-{uuid.uuid4().hex[:6]}@localhost", args.worker_concurrency, var_dir))
        processes.append(beat_start(env, var_dir))
        print(
            f"== loaded ({args.seconds:.0f} s): {args.people} people with streams, webhooks {args.webhook_rate:g}/s, "
            f"a {len(ids)}-prospect bulk job, incremental syncs"
        )
        load_before = os.getloadavg()[0]
        cpu_before = {p.pid: cpu_seconds(p.pid) for p in processes}
        client_before = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
        with ConnectionSampler(database_url) as sampler:
            clicked, job_id = bulk_click(ids)
            began = time.time()
            t0 = time.monotonic()
            loaded = asyncio.run(load_run(args, web_port, data, records))
            t1 = time.monotonic()
            ended = time.time()
        cpu = {
            role: round((cpu_seconds(p.pid) - cpu_before[p.pid]) / (t1 - t0), 2)
            for role, p in zip(("web", "worker", "beat"), processes, strict=True)
        }
        cpu["bench_client"] = round((sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - client_before) / (t1 - t0), 2)
        load_after = os.getloadavg()[0]
        progress = progress_counts([job_id])[job_id]
        rentengine = rentengine_figures(sim_port, began, ended, clicked)
        inbox = inbox_figures()
        pg_peak = sampler.peak_total(t0, t1)
    finally:
        stopping = time.monotonic()
        stop_all([*processes, simulator])
        print(f"  stopped in {time.monotonic() - stopping:.1f} s")
        live_places_clear()

    times: PageTimes = loaded["times"]
    summary = times.summary()
    errors = collections.Counter(summary["errors"]) + loaded["webhook_errors"]
    for status, n in loaded["streams"]["answers"].items():
        if status not in ("200", "429"):
            errors[f"stream {status}"] += n
    posts = rentengine.pop("bulk_posts")
    in_load = [p for p in posts if p["at"] <= ended]
    bulk_span = (max(p["at"] for p in in_load) - clicked) if in_load else 0.0
    job_done = progress.finished
    # Throughput while the job ran: to its last post if it finished in the load, else to the load's end.
    span = bulk_span if job_done and bulk_span else ended - clicked
    bulk_rate = len(in_load) / span if span else 0.0
    acks, visible = loaded["acks"], loaded["visible"]
    results: dict[str, Any] = {
        "size": args.size,
        "page_p50_ms": summary["page_p50_ms"],
        "page_p95_ms": summary["page_p95_ms"],
        "page_p99_ms": summary["page_p99_ms"],
        "page_requests": summary["requests"],
        "pages": {kind: {k: v for k, v in s.items()} for kind, s in summary["pages"].items()},
        "webhook_ack_p50_ms": round(percentile(acks, 0.50), 1),
        "webhook_ack_p95_ms": round(percentile(acks, 0.95), 1),
        "webhook_ack_p99_ms": round(percentile(acks, 0.99), 1),
        "webhooks_acked": len(acks),
        "webhooks_per_s": round(len(acks) / args.seconds, 1),
        "webhook_inbox": inbox,
        "visible_p50_ms": round(percentile(visible, 0.50), 1),
        "visible_p95_ms": round(percentile(visible, 0.95), 1),
        "visible_samples": len(visible),
        "visible_never_seen": loaded["visible_unseen"],
        "bulk_prospects": len(ids),
        "bulk_posts_in_load": len(in_load),
        "bulk_posts_per_s": round(bulk_rate, 3),
        "bound_per_s": BOUND_PER_S,
        "bulk_ratio_to_bound": round(bulk_rate / BOUND_PER_S, 3),
        "bulk_job_at_end": {
            "total": progress.total,
            "settled": progress.settled,
            "done": progress.done,
            "failed": progress.failed,
            "finished": job_done,
        },
        "rentengine": rentengine,
        "http_429": rentengine["http_429"],
        "errors_total": sum(errors.values()),
        "errors": dict(errors),
        "server_errors_5xx": sum(n for status, n in errors.items() if status[:1] == "5"),
        "streams": loaded["streams"],
        "pg_connections_peak": pg_peak,
        "cpu_s_per_s": cpu,
        "unloaded": {
            "page_p50_ms": u["page_p50_ms"],
            "page_p95_ms": u["page_p95_ms"],
            "page_p99_ms": u["page_p99_ms"],
            "page_requests": u["requests"],
            "pages": u["pages"],
            "errors": u["errors"],
        },
        "goals": GOALS,
        "load": {
            "people": args.people,
            "think_s": list(THINK),
            "seconds": args.seconds,
            "webhook_rate_per_s": args.webhook_rate,
            "simulator": f"{sim_size}, limit 30/5s, activity {args.activity:g}/min (webhooks to the receiver)",
            "sync": "beat ticks every 5 s; prospects, leasing_events, lockbox_events every 20 s, units every 60 s",
            "not_included": "the people's pages don't refetch on notices (only the watcher does)",
        },
        "server": f"uvicorn {args.workers} workers (dashboard.asgi), DEBUG off; Celery worker prefork -c {args.worker_concurrency}; beat; PostgreSQL; "
        + ("Redis" if env.get("REDIS_URL") else "no Redis"),
        "measured": "client-side over HTTP from this one process (asyncio + httpx), on the same machine",
        "machine": SHARED_MACHINE_NOTE,
        "cores": os.cpu_count(),
        "machine_load_1m": [round(load_before, 2), round(load_after, 2)],
    }
    results["goals_met"] = {
        "page_p95_ms": results["page_p95_ms"] <= GOALS["page_p95_ms"],
        "webhook_ack_p95_ms": results["webhook_ack_p95_ms"] <= GOALS["webhook_ack_p95_ms"],
        "visible_p95_ms": bool(visible) and results["visible_p95_ms"] <= GOALS["visible_p95_ms"],
        "errors_total": results["errors_total"] == 0,
        "http_429": results["http_429"] == 0,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k not in ("pages", "unloaded")}, indent=2))
    print("pages under load (p50 / p95 / p99 ms; unloaded p95):")
    for kind, s in results["pages"].items():
        alone = results["unloaded"]["pages"].get(kind, {}).get("p95_ms", "-")
        print(f"  {kind:<22} {s['p50_ms']:7.1f} {s['p95_ms']:7.1f} {s['p99_ms']:7.1f}   (unloaded {alone})  n={s['n']}")
    print(f"wrote {RESULTS.relative_to(ROOT)} ({SHARED_MACHINE_NOTE})")
    shutil.rmtree(var_dir, ignore_errors=True)
    if results["server_errors_5xx"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
