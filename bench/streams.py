"""Many open live streams (issue 13): PostgreSQL connections they use, what they cost the pages, refusals.

    .venv/bin/python bench/streams.py [--streams 300] [--people 30] [--seconds 20] [--per-person N]

1. A fresh database `<DATABASE_URL's name>_bench_streams`, migrated and filled with the simulator's
   `small` records (through the mirror's apply functions, no HTTP); a manager for the page loop and
   `--people` agents for the streams, each signed in (a session, as after the login form).
2. `uvicorn dashboard.asgi:application --workers 2` (DEBUG off, the environment's REDIS_URL for the
   notices and the per-person caps), with LIVE_STREAMS_PER_PERSON = `--per-person` (default
   streams / people, so that the streams fit; pass 8, the shipped value, to see those refused).
3. Phases, a page loop (`--loops` clients, each requesting 14 list, search and object pages one at
   a time in a shuffled order) running in those marked so:
   a. pages without streams (`--seconds`);
   b. opens `--streams` streams, `/live/stream/?s=prospects:A&s=units:A&s=sync` (as the prospects
      list asks), spread evenly over the people; then one stream more per person, which the cap
      must refuse (429);
   c. idle: no page loop for one heartbeat + 2 s (LIVE_HEARTBEAT_SECONDS, 15 s); every stream
      re-checks its person once in it. pg_stat_activity is sampled every 100 ms: connections to the
      bench database that were not open before the streams (the page loop's persistent ones are
      left out by pid) are the streams'. Goal: 0 held while idle (a heartbeat's check opens one and
      closes it at once: `opened_per_s`);
   d. pages with the streams open (`--seconds`);
   e. the streams closed, pages without streams again (`--seconds`): "without" is a+e together.
4. Writes bench/results/streams.json and prints it.

Default run: about 2 minutes. The figures of a shared machine are noisy; the JSON says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from support import free_port, migrate, postgres_bench_database
from support.crowd import (
    SHARED_MACHINE_NOTE,
    ConnectionSampler,
    PageTimes,
    Streams,
    cpu_seconds,
    live_places_clear,
    page_loop,
    server_environment,
    session_cookie,
    stop,
    web_start,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "streams.json"
PAGE_KINDS = (
    "prospects_first_default", "prospects_first_all", "prospects_filter_htmx", "prospects_more_rows_htmx",
    "prospects_search_name", "units_first", "units_status", "showings_week", "lockboxes_first",
    "lockbox_activity_first", "search", "prospect_page", "unit_page", "lockbox_page",
)  # fmt: skip
HEARTBEAT = 15.0


def seed(people: int) -> tuple[list[tuple[str, str, dict[str, str]]], str, str, list[str]]:
    """The mirror (small), the page plan and the manager's cookie, and one cookie per agent."""
    from django.contrib.auth.models import User
    from pages import fill_direct, page_plan

    from dashboard.models import TeamMember
    from integrations.rentengine.models import Account

    began = time.monotonic()
    fill_direct("small")
    plan, context = page_plan()
    pages = [page for page in plan if page[0] in PAGE_KINDS]
    account = Account.objects.get(pk=context["account"])
    cookies = []
    for n in range(people):
        user = User.objects.create_user(username=f"bench-stream-{n:02d}", first_name="Stream", last_name=f"{n:02d}")
        TeamMember.objects.create(user=user).accounts.set([account], through_defaults={"role": TeamMember.Role.AGENT})
        cookies.append(session_cookie(user))
    print(f"  filled and signed in {people} people + a manager in {time.monotonic() - began:.1f} s")
    return pages, str(account.id), session_cookie(context["user"]), cookies


async def run(args: argparse.Namespace, port: int, server_pid: int, database_url: str, plan: tuple[Any, ...]) -> dict[str, Any]:
    import httpx
    from django.conf import settings

    pages, account, manager_cookie, cookies = plan
    rng = random.Random(13)
    path = f"/live/stream/?s=prospects:{account}&s=units:{account}&s=sync"
    streams = Streams(port)
    extra = Streams(port)
    name = settings.SESSION_COOKIE_NAME
    limits = httpx.Limits(max_connections=args.loops + 2)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", cookies={name: manager_cookie}, timeout=30, limits=limits
    ) as client:
        cpu: dict[str, float] = {}

        async def pages_for(seconds: float, label: str) -> PageTimes:
            times = PageTimes()
            cpu_began = cpu_seconds(server_pid)
            until = time.monotonic() + seconds
            await asyncio.gather(
                *(page_loop(client, pages, until, times, random.Random(rng.random())) for _ in range(args.loops))
            )
            s = times.summary()
            cpu[label] = round((cpu_seconds(server_pid) - cpu_began) / seconds, 3)
            print(f"  {label}: server CPU {cpu[label]} s/s")
            print(f"  {label}: {s['requests']} pages, p50 {s['page_p50_ms']} ms, p95 {s['page_p95_ms']} ms, errors {s['errors']}")
            return times

        with ConnectionSampler(database_url) as sampler:
            print("== warm-up (3 rounds of every page)")
            for _ in range(3):
                for _kind, url, headers in pages:
                    response = await client.get(url, headers=headers)
                    if response.status_code != 200:
                        sys.exit(f"{url} answered {response.status_code}")
            print(f"== a. pages without streams ({args.seconds:.0f} s, {args.loops} loops)")
            t0 = time.monotonic()
            without_before = await pages_for(args.seconds, "without streams (before)")
            t1 = time.monotonic()
            before = sampler.pids_now()

            print(f"== b. opening {args.streams} streams of {args.people} people (cap {args.per_person} a person)")
            began = time.monotonic()
            owners = [cookies[n % args.people] for n in range(args.streams)]
            # A browser's tabs open over time, not all in one instant: 25 at a time.
            for start in range(0, len(owners), 25):
                await asyncio.gather(*(streams.open(path, cookie, name) for cookie in owners[start : start + 25]))
            opened_s = time.monotonic() - began
            print(f"  answers {dict(streams.statuses)} in {opened_s:.1f} s")
            await asyncio.gather(*(extra.open(path, cookie, name) for cookie in cookies))
            print(f"  one more per person: answers {dict(extra.statuses)}")
            await extra.close()

            idle = HEARTBEAT + 2
            print(f"== c. idle with {streams.open_count} streams open ({idle:.0f} s, no pages)")
            await asyncio.sleep(1.0)
            t2 = time.monotonic()
            cpu_began = cpu_seconds(server_pid)
            await asyncio.sleep(idle)
            t3 = time.monotonic()
            cpu["idle with streams"] = round((cpu_seconds(server_pid) - cpu_began) / (t3 - t2), 3)
            print(f"  server CPU while idle: {cpu['idle with streams']} s/s")
            idle_conns = sampler.window(t2, t3, leave_out=before)
            print(f"  stream connections while idle: {idle_conns}")

            print(f"== d. pages with {streams.open_count} streams open ({args.seconds:.0f} s)")
            t4 = time.monotonic()
            with_streams = await pages_for(args.seconds, "with streams")
            t5 = time.monotonic()
            open_at_end = streams.open_count
            events = dict(streams.events)
            await streams.close()
            await asyncio.sleep(1.0)

            print(f"== e. pages without streams again ({args.seconds:.0f} s)")
            t6 = time.monotonic()
            without_after = await pages_for(args.seconds, "without streams (after)")
            t7 = time.monotonic()
            busy_conns = sampler.window(t4, t5, leave_out=before)
            totals = {
                "without_streams_peak": max(sampler.peak_total(t0, t1), sampler.peak_total(t6, t7)),
                "idle_streams_peak": sampler.peak_total(t2, t3),
                "with_streams_peak": sampler.peak_total(t4, t5),
            }

    without = PageTimes()
    for times in (without_before, without_after):
        for kind, values in times.by_kind.items():
            without.by_kind[kind].extend(values)
        without.errors.update(times.errors)
    w, s = without.summary(), with_streams.summary()
    opened = streams.statuses.get(200, 0)
    return {
        "streams_asked": args.streams,
        "people": args.people,
        "streams_per_person_cap": args.per_person,
        "streams_per_process_cap": settings.LIVE_STREAMS_PER_PROCESS,
        "streams_opened": opened,
        "streams_refused_429": streams.statuses.get(429, 0),
        "streams_other_answers": {str(k): v for k, v in streams.statuses.items() if k not in (200, 429)},
        "streams_open_at_end": open_at_end,
        "streams_ended_by_server": streams.ended_early,
        "stream_open_p95_ms": round(sorted(streams.open_ms)[int(0.95 * (len(streams.open_ms) - 1))], 1)
        if streams.open_ms
        else None,
        "opening_seconds": round(opened_s, 1),
        "over_cap_probe": {
            "asked": len(cookies),
            "refused_429": extra.statuses.get(429, 0),
            "opened": extra.statuses.get(200, 0),
        },
        "stream_events_received": events,
        "pg_connections_by_streams_idle": idle_conns,
        "pg_connections_by_streams_idle_peak": idle_conns["peak"],
        "pg_connections_new_during_pages_with_streams": busy_conns,
        "pg_connections_total": totals,
        "server_cpu_s_per_s": cpu,
        "page_p95_ms_without_streams": w["page_p95_ms"],
        "page_p95_ms_with_streams": s["page_p95_ms"],
        "page_p50_ms_without_streams": w["page_p50_ms"],
        "page_p50_ms_with_streams": s["page_p50_ms"],
        "page_errors_without": w["errors"],
        "page_errors_with": s["errors"],
        "pages_without_streams": w["pages"],
        "pages_with_streams": s["pages"],
        "goal": "0 PostgreSQL connections held by idle streams; page p95 with the streams close to without",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=300)
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each page-loop phase")
    parser.add_argument("--loops", type=int, default=2, help="page loops running at once")
    parser.add_argument("--per-person", type=int, default=None, help="LIVE_STREAMS_PER_PERSON (default: streams / people)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr] # progress shows in a log file as it happens
    args.per_person = args.per_person or math.ceil(args.streams / args.people)

    database_url = postgres_bench_database("streams", required_by="bench/streams.py")
    var_dir = Path(tempfile.mkdtemp(prefix="leasing-bench-streams-"))
    env = server_environment(
        database_url,
        var_dir,
        LIVE_STREAMS_PER_PERSON=str(args.per_person),
        LIVE_HEARTBEAT_SECONDS=str(HEARTBEAT),
        RENTENGINE_API_TOKEN="",
    )
    if not env.get("REDIS_URL"):
        print("NOTE: no REDIS_URL: the per-person cap counts per web process, and notices poll the counters")
    print(f"== preparing {database_url.rsplit('/', 1)[-1]}")
    migrate(env)
    os.environ.update(env)
    import django

    django.setup()
    plan = seed(args.people)
    live_places_clear()
    port = free_port()
    load_before = os.getloadavg()[0]
    server = web_start(env, port, args.workers, var_dir)
    try:
        results = asyncio.run(run(args, port, server.pid, database_url, plan))
    finally:
        stop(server)
        live_places_clear()
    results.update(
        {
            "server": f"uvicorn {args.workers} workers (dashboard.asgi), DEBUG off, PostgreSQL, "
            + ("Redis" if env.get("REDIS_URL") else "no Redis"),
            "heartbeat_s": HEARTBEAT,
            "seconds_per_phase": args.seconds,
            "page_loops": args.loops,
            "page_kinds": list(PAGE_KINDS),
            "measured": "client-side times over HTTP from this process (asyncio + httpx), streams read by raw sockets",
            "machine": SHARED_MACHINE_NOTE,
            "cores": os.cpu_count(),
            "machine_load_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if not k.startswith("pages_")}, indent=2))
    print(f"wrote {RESULTS.relative_to(ROOT)} ({SHARED_MACHINE_NOTE})")
    shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
