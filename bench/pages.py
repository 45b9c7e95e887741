"""List-page benchmark (issue 5): server time and queries of the agent screens over a mirrored dataset.

    .venv/bin/python bench/pages.py [--size small|medium|large] [--requests 30] [--fill auto|sync|direct] [--refill]

1. Database: `<DATABASE_URL's name>_bench_pages` on PostgreSQL (created if missing, migrated); the
   default base is postgres://postgres@127.0.0.1:5432/leasing.
2. Fill (skipped when the database already holds this size; `--refill` forces it):
   - `sync` (the real path, issue 5's "a sync with the simulator's limit off"): starts
     `manage.py rentengine_simulator --size S --rate-limit off` and runs `manage.py rentengine_sync --full`
     against it with our own limiter lifted;
   - `direct` (development only): the simulator's seeded records through the mirror's apply
     functions in this process, no HTTP. Used by `auto` only when `rentengine_sync` is missing.
   The fill used is written to the results.
3. `VACUUM (ANALYZE)`, as autovacuum would have done on a live database (it may be off on a
   development server): without it index-only scans read the heap of a freshly filled mirror.
4. Serves a fixed set of pages (`page_plan()`: first page, a deep page, each filter, search, the
   htmx "load more" part, the object pages) and a trivial view (`/search/` without a query: the
   same base layout, no data) through one in-process Django handler (DEBUG off) started as the
   server starts (`dashboard.asgi`), logged in as a manager whose RentEngine id is the busiest
   agent's ("other agent": the next busiest). Each page: 3 warm-up requests, then `--requests`
   rounds of one request to every page (the trivial view twice), interleaved so that the noise of
   a shared machine falls on every page alike; the query count comes from one extra captured request.
5. Writes bench/results/pages.json: per page `p50_ms`, `p95_ms`, `queries`, plus `trivial_p95_ms`,
   `worst_ratio_to_trivial` and the targets (p95 <= 50 ms, ratio <= 4, <= 10 queries).

`--size small` (the default for quick runs is large, as the issue asks) finishes in under a minute.

What made the pages fast, and what each change of the code cost or saved: bench/NOTES.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

from support import free_port, migrate, postgres_bench_database, simulator_start

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "pages.json"
PYTHON = sys.executable
TOKEN = "bench-pages-token"  # the simulator's only token; a local process, not a secret
SEED = 7
TARGET_P95_MS = 50.0
TARGET_RATIO = 4.0
TARGET_QUERIES = 10
sys.path.insert(0, str(ROOT))


# --- database and fill -------------------------------------------------------------------------------


def mirror_empty(url: str) -> None:
    """Every table of the integration app, so the next fill starts from nothing (sync cursors too)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'rentengine\\_%'")]
        if tables:
            conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def fill_by_sync(size: str, env: dict[str, str]) -> dict[str, Any]:
    """The real ingest path: the simulator with its limit off, then a full foreground sync."""
    port = free_port()
    simulator = simulator_start(size=size, port=port, token=TOKEN, rate_limit="off", seed=SEED)
    try:
        sync_env = {
            **env,
            "RENTENGINE_API_TOKEN": TOKEN,
            "RENTENGINE_BASE_URL": f"http://127.0.0.1:{port}/api/public/v1",
            # Lift our own limiter too: this measures pages, not pacing.
            "RENTENGINE_RATE_LIMIT": "100000",
            "RENTENGINE_RATE_WINDOW_SECONDS": "1",
        }
        began = time.monotonic()
        result = subprocess.run(
            [PYTHON, "manage.py", "rentengine_sync", "--full", "--quiet"], cwd=ROOT, env=sync_env, check=False
        )
        if result.returncode != 0:
            sys.exit(f"rentengine_sync --full failed ({result.returncode})")
        return {"fill": "sync", "fill_seconds": round(time.monotonic() - began, 1)}
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)


def fill_direct(size: str) -> dict[str, Any]:
    """Development only: the simulator's seeded records through the mirror's own apply functions."""
    from integrations.rentengine import mirror
    from integrations.rentengine.client import records as r
    from integrations.rentengine.simulator.row_shapes import showing_report_row
    from integrations.rentengine.simulator.seed import state_seed
    from integrations.rentengine.simulator.state import public

    began = time.monotonic()
    state = state_seed(seed=SEED, size=size)

    def apply(table: str, model: type[Any], function: Any, rows: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        items = rows if rows is not None else [public(row) for row in state.table(table).rows]
        for start in range(0, len(items), 2000):
            function(r.parse_records(model, items[start : start + 2000]).records, **kwargs)

    apply("units", r.UnitRecord, mirror.units_apply)
    apply("subteams", r.SubteamRecord, mirror.subteams_apply)
    apply("prospects", r.ProspectRecord, mirror.prospects_apply)
    apply("leasing_events", r.LeasingEventRecord, mirror.leasing_events_apply)
    prospects = {p["id"]: p for p in state.table("prospects").rows}
    units = {u["id"]: u for u in state.table("units").rows}
    users = {u["id"]: u["name"] for u in state.users}
    for account in state.accounts:
        rows = [
            showing_report_row(
                s,
                prospect_name=(prospects.get(s["prospect_id"]) or {}).get("name"),
                property_address=((units.get(s["unit_id"]) or {}).get("address") or {}).get("formatted_address"),
                agent_name=users.get(s.get("agent_user_id") or ""),
            )
            for s in state.table("showings").rows
            if s["account_id"] == account["id"]
        ]
        apply("showings", r.ShowingRecord, mirror.showings_apply, rows=rows, account_id=account["id"])
    apply("lockboxes", r.LockboxRecord, mirror.lockboxes_apply)
    apply("lockbox_events", r.LockboxEventRecord, mirror.lockbox_events_apply)
    apply("lockbox_installations", r.LockboxInstallationRecord, mirror.lockbox_installations_apply)
    return {"fill": "direct (development only: no HTTP, no sync)", "fill_seconds": round(time.monotonic() - began, 1)}


def sync_command_exists() -> bool:
    return (ROOT / "integrations" / "rentengine" / "management" / "commands" / "rentengine_sync.py").exists()


# --- the pages -----------------------------------------------------------------------------------------


def page_plan() -> tuple[list[tuple[str, str, dict[str, str]]], dict[str, Any]]:
    """[(name, url, headers)] over the filled data, and the bench user's context."""
    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.db.models import Count
    from django.http import QueryDict
    from django.utils import timezone

    from dashboard.lists import paging as keyset
    from dashboard.lists.filters import LockboxActivityFilter, LockboxFilter, ProspectFilter, UnitFilter
    from dashboard.models import TeamMember
    from integrations.rentengine.models import Account, LeasingEvent, Lockbox, LockboxEvent, Prospect, ProspectAssignee, Unit

    account = Account.objects.annotate(n=Count("prospects")).order_by("-n").first()
    if account is None:
        sys.exit("the bench database holds no data")
    busiest = (
        ProspectAssignee.objects.filter(prospect__account=account)
        .values("user_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    me = str(busiest["user_id"]) if busiest else None
    # The next busiest agent (ties by id): the same page on every run.
    other = (
        ProspectAssignee.objects.filter(prospect__account=account)
        .exclude(user_id=me)
        .values("user_id")
        .annotate(n=Count("id"))
        .order_by("-n", "user_id")
        .values_list("user_id", flat=True)
        .first()
    )
    user, _ = User.objects.get_or_create(username="bench-manager", defaults={"first_name": "Bench", "last_name": "Manager"})
    TeamMember.objects.filter(rentengine_user_id=me).exclude(user=user).update(rentengine_user_id=None)
    member, _ = TeamMember.objects.update_or_create(user=user, defaults={"rentengine_user_id": me})
    member.accounts.set([account], through_defaults={"role": TeamMember.Role.MANAGER})
    member.grants.filter(account=account).update(role=TeamMember.Role.MANAGER)  # roles are per account

    def deep(queryset: Any, sort: keyset.Sort, depth: int) -> str:
        total = min(depth, max(queryset.count() - 1, 0))
        direction = "-" if sort.descending else ""
        row = queryset.order_by(f"{direction}{sort.field}", f"{direction}pk")[total]
        return keyset.cursor_for(row, sort)

    def q(**params: Any) -> str:
        return "?" + urlencode(params) if params else ""

    prospect_all = ProspectFilter(QueryDict("assignee=all"), account=account, me=me).qs
    prospect_mine_unassigned = ProspectFilter(QueryDict(""), account=account, me=me).qs
    newest = ProspectFilter.SORTS["newest"]
    busy_unit = (
        Prospect.objects.filter(account=account, unit_id__isnull=False)
        .values("unit_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    busy_unit_id = busy_unit["unit_id"] if busy_unit else 0
    sample = Prospect.objects.filter(account=account).exclude(phone_digits="").order_by("id")[100]
    name_fragment = (sample.name.split() or ["a"])[0][:4]
    city = Unit.objects.filter(account=account).values("city").annotate(n=Count("id")).order_by("-n").first()
    busy_prospect = (
        LeasingEvent.objects.filter(account=account).values("prospect_id").annotate(n=Count("id")).order_by("-n").first()
    )
    busy_box = LockboxEvent.objects.filter(account=account).values("lockbox_id").annotate(n=Count("id")).order_by("-n").first()
    serial = (
        Lockbox.objects.filter(account=account).order_by("serial_number").values_list("serial_number", flat=True).first() or "1"
    )
    units_all = UnitFilter(QueryDict(""), account=account).qs
    boxes_all = LockboxFilter(QueryDict(""), account=account).qs
    events_all = LockboxActivityFilter(QueryDict(""), account=account).qs
    today = timezone.now().date()
    month_ago = today - timedelta(days=30)
    rows_part = {"HX-Request": "true", "HX-Target": "more-rows"}
    results_part = {"HX-Request": "true", "HX-Target": "results"}
    prospect_deep = deep(prospect_all, newest, 20_000)

    pages: list[tuple[str, str, dict[str, str]]] = [
        ("prospects_first_default", "/prospects/", {}),
        ("prospects_first_all", "/prospects/" + q(assignee="all"), {}),
        ("prospects_deep_all", "/prospects/" + q(assignee="all", after=prospect_deep), {}),
        ("prospects_deep_default", "/prospects/" + q(after=deep(prospect_mine_unassigned, newest, 20_000)), {}),
        ("prospects_more_rows_htmx", "/prospects/" + q(assignee="all", after=prospect_deep), rows_part),
        ("prospects_filter_htmx", "/prospects/" + q(assignee="all", family="open"), results_part),
        ("prospects_mine", "/prospects/" + q(assignee="mine"), {}),
        ("prospects_unassigned", "/prospects/" + q(assignee="unassigned"), {}),
        ("prospects_other_agent", "/prospects/" + q(assignee=str(other or me)), {}),
        ("prospects_family_open", "/prospects/" + q(assignee="all", family="open"), {}),
        ("prospects_status", "/prospects/" + q(assignee="all", status="Showing Scheduled"), {}),
        ("prospects_source", "/prospects/" + q(assignee="all", source="Zillow"), {}),
        ("prospects_unit", "/prospects/" + q(assignee="all", unit=busy_unit_id), {}),
        ("prospects_created_range", "/prospects/" + q(assignee="all", created_from=month_ago, created_to=today), {}),
        ("prospects_sort_name", "/prospects/" + q(assignee="all", sort="name"), {}),
        ("prospects_sort_follow_up", "/prospects/" + q(assignee="all", sort="follow_up"), {}),
        ("prospects_search_name", "/prospects/" + q(assignee="all", q=name_fragment), {}),
        ("prospects_search_phone", "/prospects/" + q(assignee="all", q=sample.phone_digits[-7:]), {}),
        ("units_first", "/units/", {}),
        ("units_deep", "/units/" + q(after=deep(units_all, UnitFilter.SORTS["address"], 2_000)), {}),
        ("units_status", "/units/" + q(status="Available"), {}),
        ("units_city", "/units/" + q(city=city["city"] if city else ""), {}),
        ("units_bedrooms", "/units/" + q(bedrooms=3), {}),
        ("units_rent_range", "/units/" + q(rent_min=1500, rent_max=2500, sort="rent_low"), {}),
        ("units_occupied", "/units/" + q(occupied="no"), {}),
        ("units_has_lockbox", "/units/" + q(lockbox="yes"), {}),
        ("units_search", "/units/" + q(q="st"), {}),
        ("today_team", "/today/", {}),  # My day: the bench user manages the account, so the team's day
        ("showings_today", "/showings/", {}),
        ("showings_week", "/showings/" + q(view="week"), {}),
        ("showings_week_status", "/showings/" + q(view="week", status="Scheduled"), {}),
        ("showings_week_mine", "/showings/" + q(view="week", agent="mine"), {}),
        ("lockboxes_first", "/lockboxes/", {}),
        ("lockboxes_deep", "/lockboxes/" + q(after=deep(boxes_all, LockboxFilter.SORTS["serial"], 500)), {}),
        ("lockboxes_quiet", "/lockboxes/" + q(state="quiet"), {}),
        ("lockboxes_search", "/lockboxes/" + q(q=serial[:3]), {}),
        ("lockbox_activity_first", "/lockboxes/activity/", {}),
        (
            "lockbox_activity_deep",
            "/lockboxes/activity/" + q(after=deep(events_all, LockboxActivityFilter.SORTS["newest"], 50_000)),
            {},
        ),
        ("lockbox_activity_codes", "/lockboxes/activity/" + q(type="Generate Code"), {}),
        ("lockbox_activity_unit", "/lockboxes/activity/" + q(unit=busy_unit_id), {}),
        ("search", "/search/" + q(q=name_fragment), {}),
        ("prospect_page", f"/prospects/{busy_prospect['prospect_id']}/" if busy_prospect else "/prospects/", {}),
        ("unit_page", f"/units/{busy_unit_id}/", {}),
        ("lockbox_page", f"/lockboxes/{busy_box['lockbox_id']}/" if busy_box else "/lockboxes/", {}),
    ]
    context = {"account": str(account.id), "me": me, "user": user}
    return pages, context


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def measure_all(client: Any, pages: list[tuple[str, str, dict[str, str]]], rounds: int) -> dict[str, dict[str, Any]]:
    """Every page, one request each per round, `rounds` rounds (after 3 warm-up requests a page):
    interleaved, so that a slow moment of a shared machine falls on all pages alike instead of on
    whichever page was being measured then. A name listed twice is sampled twice a round into one
    set. The query count comes from one extra captured request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _, url, headers in pages:
        for _ in range(3):
            response = client.get(url, headers=headers)
            if response.status_code != 200:
                sys.exit(f"{url} answered {response.status_code}")
    timings: dict[str, list[float]] = {name: [] for name, _, _ in pages}
    for _ in range(rounds):
        for name, url, headers in pages:
            began = time.perf_counter()
            client.get(url, headers=headers)
            timings[name].append((time.perf_counter() - began) * 1000)
    results: dict[str, dict[str, Any]] = {}
    for name, url, headers in pages:
        if name in results:
            continue
        with CaptureQueriesContext(connection) as captured:
            client.get(url, headers=headers)
        results[name] = {
            "url": url + (" [htmx " + headers.get("HX-Target", "") + "]" if headers else ""),
            "p50_ms": round(statistics.median(timings[name]), 2),
            "p95_ms": round(percentile(timings[name], 0.95), 2),
            "queries": len(captured),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=("small", "medium", "large"), default="large")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--fill", choices=("auto", "sync", "direct"), default="auto")
    parser.add_argument("--refill", action="store_true", help="empty the mirror and fill it again")
    parser.add_argument("--only", default="", help="measure only the pages whose name contains this text")
    args = parser.parse_args()

    url = postgres_bench_database("pages", fresh=False, required_by="bench/pages.py")
    var = ROOT / "var" / "bench-pages"
    var.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "LEASING_VAR_DIR": str(var),
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    }
    migrate(env)
    marker = var / f"{urlparse(url).path.lstrip('/')}.json"
    filled = json.loads(marker.read_text()) if marker.exists() else {}
    os.environ.update(env)

    import django

    django.setup()
    from integrations.rentengine.models import Prospect

    if args.refill or filled.get("size") != args.size or not Prospect.objects.exists():
        mirror_empty(url)
        fill = args.fill if args.fill != "auto" else ("sync" if sync_command_exists() else "direct")
        if fill == "sync":
            filled = fill_by_sync(args.size, env)
        else:
            print("NOTE: filling through the mirror's apply functions (development only); the benchmark's fill is a sync.")
            filled = fill_direct(args.size)
        filled["size"] = args.size
        marker.write_text(json.dumps(filled))

    from django.db import connection

    from integrations.rentengine.models import LeasingEvent, Lockbox, LockboxEvent, Showing, Unit

    with connection.cursor() as cursor:
        # VACUUM as well as ANALYZE: a live database is vacuumed by autovacuum (which may be off on a
        # development server, as it is on ours), so its visibility map lets index-only scans skip
        # the heap; a freshly filled, never vacuumed mirror would measure a state production never
        # stays in for long. (Outside a transaction: Django's cursor runs in autocommit here.)
        cursor.execute("VACUUM (ANALYZE)")
    rows = {
        "units": Unit.objects.count(),
        "prospects": Prospect.objects.count(),
        "leasing_events": LeasingEvent.objects.count(),
        "showings": Showing.objects.count(),
        "lockboxes": Lockbox.objects.count(),
        "lockbox_events": LockboxEvent.objects.count(),
    }
    print(f"mirror ({filled.get('fill')}): " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))

    from django.test import Client

    pages, context = page_plan()
    pages = [page for page in pages if args.only in page[0]]
    client = Client()
    client.force_login(context["user"])
    import dashboard.asgi  # noqa: F401 - the server's start-up: every view loaded, start-up objects frozen (gc)

    # The trivial view twice a round, at the start and half-way (its p95 is the yardstick: twice the samples).
    half = len(pages) // 2
    trivial_page = ("trivial", "/search/", {})
    results = measure_all(client, [trivial_page, *pages[:half], trivial_page, *pages[half:]], args.requests)
    trivial = results.pop("trivial")
    for name, r in results.items():
        print(f"{name:<28} p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms  {r['queries']:2d} queries")
    worst_name = max(results, key=lambda n: results[n]["p95_ms"])
    worst_ratio = results[worst_name]["p95_ms"] / trivial["p95_ms"] if trivial["p95_ms"] else 0.0
    output = {
        "size": args.size,
        "database": "postgresql",
        **{k: v for k, v in filled.items() if k != "size"},
        "rows": rows,
        "requests_per_page": args.requests,
        "measured": "in-process Django handler (middleware, session, auth, view, template), DEBUG off",
        "trivial_url": "/search/",
        "trivial_p50_ms": trivial["p50_ms"],
        "trivial_p95_ms": trivial["p95_ms"],
        "trivial_queries": trivial["queries"],
        "worst_page": worst_name,
        "worst_p95_ms": results[worst_name]["p95_ms"],
        "worst_ratio_to_trivial": round(worst_ratio, 2),
        "max_queries": max(r["queries"] for r in results.values()),
        "targets": {"p95_ms": TARGET_P95_MS, "ratio_to_trivial": TARGET_RATIO, "queries": TARGET_QUERIES},
        "pages": results,
    }
    output["targets_met"] = (
        output["worst_p95_ms"] <= TARGET_P95_MS and worst_ratio <= TARGET_RATIO and output["max_queries"] <= TARGET_QUERIES
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(output, indent=2) + "\n")
    print(
        f"\ntrivial p95 {trivial['p95_ms']} ms; worst {worst_name} p95 {output['worst_p95_ms']} ms "
        f"(x{output['worst_ratio_to_trivial']}); max queries {output['max_queries']}; targets met: {output['targets_met']}"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
