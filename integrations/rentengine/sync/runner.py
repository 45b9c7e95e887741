"""Drive one resource's sync run, step by step: resumable, one run at a time, deletions found on full passes.

Each step does a few seconds of whole pages and saves where to continue in `SyncState.progress`.
An INFERRED endpoint that answers 404 (or rejects a parameter) switches its resource off (or to its
fallback) with a notice on /sync/, and is tried again after REPROBE_AFTER.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.rentengine import mirror
from integrations.rentengine.client import (
    InvalidRequest,
    NotFound,
    Page,
    Parsed,
    RentEngineClient,
    RentEngineError,
    TokenRejected,
)
from integrations.rentengine.limiter import Lane
from integrations.rentengine.mirror import mirror_changed, scopes_bump
from integrations.rentengine.models import Lockbox, MirrorRow, Prospect, SyncMiss, SyncRun, SyncSighting, SyncState
from integrations.rentengine.sync.resources import FULL, INCREMENTAL, Pass, Resource, resource_specs

logger = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=5)  # re-read a little before the cursor: clocks and commits are not instant
STEP_SECONDS = 4.0  # work per Celery step before handing back
LEASE = timedelta(seconds=90)  # a step renews it; a dead worker's run is free again after this
REPROBE_AFTER = timedelta(hours=24)  # try an INFERRED endpoint that was switched off again
MISSING_SAFETY_RATIO = 0.5  # a full pass that lists fewer rows than this share of the mirror deletes nothing
RUN_HISTORY = 500

# Full passes of these defer derived state (statuses and assignees; a lockbox's unit) to their end.
DERIVED_BY: dict[str, type[Prospect] | type[Lockbox]] = {
    "prospects": Prospect,
    "leasing_events": Prospect,
    "lockboxes": Lockbox,
    "lockbox_events": Lockbox,
    "lockbox_installations": Lockbox,
}


class SyncBusy(Exception):
    """Another run of this resource holds the lease."""


# --- runs -----------------------------------------------------------------------------------------


def state_for(resource: str) -> SyncState:
    state, _ = SyncState.objects.get_or_create(resource=resource)
    return state


def run_start(resource: str, *, full: bool = False, now: datetime | None = None) -> uuid.UUID:
    """Claim the resource for a new run (raises SyncBusy if another live run holds it)."""
    spec = resource_specs()[resource]
    now = now or timezone.now()
    with transaction.atomic():
        state_for(resource)
        state = SyncState.objects.select_for_update().get(resource=resource)
        if state.run_id and state.lease_expires_at and state.lease_expires_at > now:
            raise SyncBusy(f"a {state.run_kind} sync of {resource} is already running (started {state.run_started_at:%H:%M:%S})")
        first = state.cursor is None if spec.cursor_field else state.last_full_at is None
        kind = FULL if (full or not spec.incremental or first) else INCREMENTAL
        if kind == FULL and state.mode != SyncState.Mode.NORMAL and _reprobe_due(state, now):
            state.mode, state.notice, state.mode_changed_at = SyncState.Mode.NORMAL, "", now
        since = state.cursor - OVERLAP if (kind == INCREMENTAL and state.cursor) else None
        state.run_id = uuid.uuid4()
        state.run_kind = kind
        state.run_started_at = now
        state.lease_expires_at = now + LEASE
        state.progress = {"started": now.isoformat(), "since": since.isoformat() if since else None,
                          "seen": 0, "changed": 0, "requests": 0, "pages": 0, "max_seen": None}  # fmt: skip
        state.save()
        if kind == FULL and spec.model is not None:
            SyncSighting.objects.filter(resource=resource).delete()
            # Nothing can go missing from an empty mirror: the first pass skips the bookkeeping.
            state.progress["detect_missing"] = spec.model.objects.alive().exists()
            state.save(update_fields=["progress"])
    if state.last_success_at is None:
        transaction.on_commit(first_sync_refresh)
    scopes_bump(["sync"])
    return state.run_id


def _reprobe_due(state: SyncState, now: datetime) -> bool:
    return state.mode_changed_at is None or now - state.mode_changed_at >= REPROBE_AFTER


def run_step(resource: str, run_id: uuid.UUID | str, *, client: RentEngineClient, budget: float = STEP_SECONDS) -> str:
    """Do up to `budget` seconds of whole pages of this run. Returns "more", "done", "failed" or
    "stale" (the run is no longer the resource's current run: a newer one took over)."""
    spec = resource_specs()[resource]
    state = state_for(resource)
    if str(state.run_id) != str(run_id):
        return "stale"
    pass_ = Pass(state=state, client=client, kind=state.run_kind, progress=dict(state.progress))
    if state.mode == SyncState.Mode.OFF:
        return _finish(spec, state, pass_, outcome=SyncState.Outcome.OK)  # nothing to ask until the reprobe
    started = time.monotonic()
    requests_before = client.stats.requests
    touched: set[str] = set()  # accounts with changes, announced once per step rather than per page
    pages = spec.pages(pass_)
    done_here = 0
    if not pass_.progress.get("quarantine_retried"):
        pass_.progress["quarantine_retried"] = True
        with transaction.atomic():
            retried = mirror.quarantine_retry(spec.name, functools.partial(_records_apply, spec, pass_, None))
        if retried.changed:
            touched |= retried.accounts
    try:
        while True:
            # The budget is checked before asking for the next page (a generator only fetches when
            # advanced); every step does at least one page.
            if done_here and time.monotonic() - started >= budget:
                return "more"
            try:
                page, resume = next(pages)
            except StopIteration:
                break
            with transaction.atomic():  # the page, its sightings and the progress commit together
                mirror.commit_relaxed()
                applied = mirror.records_apply(spec.name, page.records, functools.partial(_records_apply, spec, pass_, page))
                _after_page(spec, pass_, page, applied, resume)
                _save_progress(state, pass_, client.stats.requests - requests_before)
            requests_before = client.stats.requests
            done_here += 1
            if applied.changed:
                touched |= applied.accounts
    except (NotFound, TokenRejected) as exc:
        absent = isinstance(exc, NotFound) or (spec.off_when_forbidden and exc.status == 403)
        if spec.inferred_endpoint and spec.off_notice and absent:
            _mode_switch(state, SyncState.Mode.OFF, spec.off_notice, exc)
            return _finish(spec, state, pass_, outcome=SyncState.Outcome.OK)
        return _fail(spec, state, pass_, exc, client.stats.requests - requests_before)
    except InvalidRequest as exc:
        if (
            spec.fallback_notice
            and state.mode == SyncState.Mode.NORMAL
            and (exc.unknown_parameter or spec.name == "leasing_events")
        ):
            _mode_switch(state, SyncState.Mode.FALLBACK, spec.fallback_notice, exc)
            state.progress = {**pass_.progress, "page": 0}
            state.save(update_fields=["progress"])
            return "more"  # the same run goes on in fallback mode
        return _fail(spec, state, pass_, exc, client.stats.requests - requests_before)
    except RentEngineError as exc:
        return _fail(spec, state, pass_, exc, client.stats.requests - requests_before)
    except Exception as exc:
        logger.exception("sync of %s failed unexpectedly", resource)
        return _fail(spec, state, pass_, exc, client.stats.requests - requests_before)
    finally:
        if touched and spec.notice_kind:
            mirror_changed(spec.notice_kind, touched)
    return _finish(spec, state, pass_, outcome=SyncState.Outcome.OK)


def _records_apply(spec: Resource, p: Pass, page: Page[Any] | None, records: Sequence[Any]) -> mirror.Applied:
    """Apply some records of a page (all of them, or one at a time after the database refused the page)."""
    if page is None or records is not page.records:
        page = Page(parsed=Parsed(records=list(records), received=len(records)), page_number=0, next_page_number=None, requests=0)
    return spec.apply(p, page)


def _after_page(spec: Resource, p: Pass, page: Page[Any], applied: mirror.Applied, resume: dict[str, Any]) -> None:
    progress = p.progress
    progress["seen"] = int(progress.get("seen") or 0) + applied.seen
    progress["changed"] = int(progress.get("changed") or 0) + applied.changed
    progress["pages"] = int(progress.get("pages") or 0) + 1
    progress["deferred"] = int(progress.get("deferred") or 0) + applied.deferred
    progress.update(resume)
    if spec.cursor_field:
        times = [getattr(r, spec.cursor_field, None) for r in page.records]
        newest = max((t for t in times if t is not None), default=None)
        previous = parse_datetime(progress.get("max_seen") or "")
        if newest is not None and (previous is None or newest > previous):
            progress["max_seen"] = newest.isoformat()
    if p.kind == FULL and spec.model is not None and progress.get("detect_missing"):
        ids = {str(r.raw.get("id")) for r in page.records} | {s.record_id for s in page.parsed.skipped if s.record_id}
        sightings_add(spec.name, ids)


def sightings_add(resource: str, ids: set[str]) -> None:
    SyncSighting.objects.bulk_create([SyncSighting(resource=resource, row_id=i) for i in ids], ignore_conflicts=True)


def _save_progress(state: SyncState, p: Pass, requests: int) -> None:
    p.progress["requests"] = int(p.progress.get("requests") or 0) + requests
    SyncState.objects.filter(pk=state.pk, run_id=state.run_id).update(
        progress=p.progress, lease_expires_at=timezone.now() + LEASE
    )
    state.progress = p.progress
    if state.last_success_at is None:  # every screen built on it says how far its first sync got
        transaction.on_commit(first_sync_refresh)
    # /sync/ follows a run page by page through its change notices (it no longer polls).
    scopes_bump(["sync"])


def _mode_switch(state: SyncState, mode: str, notice: str, exc: Exception) -> None:
    logger.warning("sync of %s: %s (%s)", state.resource, notice, exc)
    state.mode, state.notice, state.mode_changed_at = mode, notice, timezone.now()
    state.save(update_fields=["mode", "notice", "mode_changed_at"])


def _finish(spec: Resource, state: SyncState, p: Pass, *, outcome: str, error: str = "", error_kind: str = "") -> str:
    now = timezone.now()
    if outcome == SyncState.Outcome.OK and p.kind == FULL and spec.name in DERIVED_BY and p.progress.get("pages"):
        # (A pass that applied no page, e.g. one switched off, deferred nothing.)
        p.progress["changed"] = int(p.progress.get("changed") or 0) + mirror.derived_refresh_all(DERIVED_BY[spec.name])
    if (
        outcome == SyncState.Outcome.OK
        and p.kind == FULL
        and spec.model is not None
        and (state.mode == SyncState.Mode.NORMAL or (state.mode == SyncState.Mode.FALLBACK and not spec.fallback_partial))
        and p.progress.get("detect_missing")
    ):
        error = _missing_detect(spec, p) or error
    progress = p.progress
    started = parse_datetime(progress.get("started") or "") or state.run_started_at or now
    with transaction.atomic():
        locked = SyncState.objects.select_for_update().get(pk=state.pk)
        if str(locked.run_id) != str(state.run_id):
            return "stale"
        if outcome == SyncState.Outcome.OK:
            max_seen = parse_datetime(progress["max_seen"]) if progress.get("max_seen") else None
            if max_seen and (locked.cursor is None or max_seen > locked.cursor):
                locked.cursor = max_seen
            elif locked.cursor is None and spec.incremental and state.mode != SyncState.Mode.OFF:
                locked.cursor = started  # an empty first pass: start incremental passes from here
            locked.last_success_at = now
            locked.consecutive_failures = 0
            if p.kind == FULL and not progress.get("deferred"):
                locked.last_full_at = now  # with rows deferred, the next pass is a full one again
        else:
            locked.consecutive_failures += 1
        locked.mode, locked.notice, locked.mode_changed_at = state.mode, state.notice, state.mode_changed_at
        locked.last_kind = p.kind
        locked.last_started_at = started
        locked.last_finished_at = now
        locked.last_outcome = outcome
        locked.last_rows_seen = int(progress.get("seen") or 0)
        locked.last_rows_changed = int(progress.get("changed") or 0)
        locked.last_requests = int(progress.get("requests") or 0)
        locked.last_duration_ms = int((now - started).total_seconds() * 1000)
        locked.last_error = error
        locked.last_error_kind = error_kind
        locked.run_id = None
        locked.run_kind = ""
        locked.lease_expires_at = None
        locked.progress = {}
        locked.save()
        SyncRun.objects.create(
            resource=spec.name, kind=p.kind, started_at=started, finished_at=now, outcome=outcome,
            rows_seen=locked.last_rows_seen, rows_changed=locked.last_rows_changed, requests=locked.last_requests, error=error,
        )  # fmt: skip
    _runs_prune()
    sync_health_refresh()
    first_sync_refresh()
    scopes_bump(["sync"])
    return "done" if outcome == SyncState.Outcome.OK else "failed"


def _fail(spec: Resource, state: SyncState, p: Pass, exc: Exception, requests: int) -> str:
    p.progress["requests"] = int(p.progress.get("requests") or 0) + requests
    # Database errors quote the refused data in their DETAIL lines: keep the first line only.
    message = exc.message if isinstance(exc, RentEngineError) else mirror.refusal_text(exc)
    logger.warning("sync of %s failed: %s", spec.name, message)
    return _finish(spec, state, p, outcome=SyncState.Outcome.FAILED, error=message[:2000], error_kind=type(exc).__name__)


def quarantine_retry_now(resource: str, ids: Sequence[int] | None = None) -> mirror.Applied:
    """A manager's "retry": apply quarantined records of a resource again (all, or these rows)."""
    spec = resource_specs()[resource]
    p = Pass(state=state_for(resource), client=cast(RentEngineClient, None), kind=INCREMENTAL, progress={})
    with transaction.atomic():
        applied = mirror.quarantine_retry(resource, functools.partial(_records_apply, spec, p, None), ids=ids)
    if applied.changed and spec.notice_kind:
        mirror_changed(spec.notice_kind, applied.accounts)
    return applied


def runs_prune(before: datetime) -> int:
    """Forget finished runs older than `before` (the newest RUN_HISTORY are pruned by count anyway)."""
    return SyncRun.objects.filter(finished_at__lt=before).delete()[0]


def _runs_prune() -> None:
    stale = SyncRun.objects.order_by("-finished_at").values_list("id", flat=True)[RUN_HISTORY : RUN_HISTORY + 1000]
    ids = list(stale)
    if ids:
        SyncRun.objects.filter(id__in=ids).delete()


def _missing_detect(spec: Resource, p: Pass) -> str:
    """After a complete full pass: rows the mirror has but RentEngine did not list are missed once;
    a second consecutive miss makes them tombstones. Returns a warning when it refused to act."""
    assert spec.model is not None
    seen = set(SyncSighting.objects.filter(resource=spec.name).values_list("row_id", flat=True))
    alive = {str(pk) for pk in spec.model.objects.alive().values_list("pk", flat=True)}
    missing = alive - seen
    SyncSighting.objects.filter(resource=spec.name).delete()
    if alive and len(seen & alive) < MISSING_SAFETY_RATIO * len(alive):
        message = (
            f"The full pass listed {len(seen & alive)} of the {len(alive)} {spec.label.lower()} in the mirror; "
            "nothing was marked deleted (check the token's accounts)."
        )
        logger.warning("sync of %s: %s", spec.name, message)
        return message
    if not missing:
        SyncMiss.objects.filter(resource=spec.name).delete()
        return ""
    previous = dict(SyncMiss.objects.filter(resource=spec.name, row_id__in=missing).values_list("row_id", "passes"))
    SyncMiss.objects.filter(resource=spec.name).exclude(row_id__in=missing).delete()
    gone = [row_id for row_id in missing if previous.get(row_id, 0) + 1 >= 2]
    SyncMiss.objects.bulk_create(
        [SyncMiss(resource=spec.name, row_id=row_id, passes=previous.get(row_id, 0) + 1) for row_id in missing],
        update_conflicts=True,
        unique_fields=["resource", "row_id"],
        update_fields=["passes"],
    )
    if gone:
        pk = spec.model._meta.pk
        assert pk is not None
        tombstoned = mirror.rows_tombstone(spec.model, [pk.to_python(g) for g in gone], reason=MirrorRow.Tombstone.MISSING)
        SyncMiss.objects.filter(resource=spec.name, row_id__in=gone).delete()
        p.progress["changed"] = int(p.progress.get("changed") or 0) + len(tombstoned)
        logger.info("sync of %s: %d rows missing from two full passes are now tombstones", spec.name, len(tombstoned))
    return ""


# --- health, for the banners every page shows -----------------------------------------------------

HEALTH_KEY = "rentengine:sync-health"
FAILING_AFTER = 3  # consecutive failed runs of a resource before every page says so


def sync_health_refresh() -> dict[str, Any]:
    """Summarise what pages must warn about, and keep it in the cache: pages read it without a query."""
    states = list(SyncState.objects.only("resource", "last_outcome", "last_error_kind", "consecutive_failures"))
    health = {
        "token_rejected": any(
            s.last_outcome == SyncState.Outcome.FAILED and s.last_error_kind == "TokenRejected" for s in states
        ),
        "failing": sorted(
            s.resource for s in states if s.consecutive_failures >= FAILING_AFTER and s.last_error_kind != "TokenRejected"
        ),
    }
    cache.set(HEALTH_KEY, health, timeout=None)
    return health


def sync_health() -> dict[str, Any]:
    """The last summary (no database query); empty until a sync has finished, or while the cache is away
    (every page shows the banners built from it: an unreachable Redis must not fail them)."""
    try:
        return cache.get(HEALTH_KEY) or {}
    except Exception as exc:
        logger.warning("sync health is unavailable: %s", exc)
        return {}


# --- first syncs, for the banner on every screen built on a resource not synced once yet -------------

FIRST_SYNC_KEY = "rentengine:first-sync"


def first_sync_refresh() -> dict[str, dict[str, Any]]:
    """{resource: {label, seen, total, running}} for every resource whose first pass has not succeeded
    yet, kept in the cache (pages read it without a query). Written only by runs: a mirror nobody
    syncs shows no banner. RentEngine's lists carry no total count (API-FACTS), so `total` is None
    unless a pass recorded one in its progress."""
    states = {
        s.resource: s for s in SyncState.objects.only("resource", "run_id", "progress", "last_success_at", "last_rows_seen")
    }
    pending: dict[str, dict[str, Any]] = {}
    for name, spec in resource_specs().items():
        state = states.get(name)
        if state is not None and state.last_success_at is not None:
            continue
        running = bool(state and state.run_id)
        progress = (state.progress or {}) if state and running else {}
        total = progress.get("total")
        pending[name] = {
            "label": spec.label,
            "seen": int(progress.get("seen") or 0),
            "total": int(total) if isinstance(total, int | float) and total > 0 else None,
            "running": running,
        }
    try:
        cache.set(FIRST_SYNC_KEY, pending, timeout=None)
    except Exception as exc:  # the banner is a courtesy: it must never fail a sync
        logger.warning("first-sync progress not cached: %s", exc)
    return pending


def first_sync_progress() -> dict[str, dict[str, Any]]:
    """The last summary (no database query): empty once every resource has synced once, and while
    the cache is away."""
    try:
        return cache.get(FIRST_SYNC_KEY) or {}
    except Exception as exc:
        logger.warning("first-sync progress is unavailable: %s", exc)
        return {}


# --- scheduling -----------------------------------------------------------------------------------


def resources_due(now: datetime | None = None) -> list[tuple[str, bool]]:
    """(resource, full) pairs whose next pass is due and that no live run holds."""
    now = now or timezone.now()
    states = {s.resource: s for s in SyncState.objects.all()}
    due = []
    for name, spec in resource_specs().items():
        state = states.get(name)
        if state and state.run_id and state.lease_expires_at and state.lease_expires_at > now:
            continue
        if state and state.mode == SyncState.Mode.OFF and not _reprobe_due(state, now):
            continue
        reprobe = bool(state and state.mode == SyncState.Mode.OFF)  # and due: only a full pass tries it (run_start)
        if any(states.get(first) is None or states[first].last_success_at is None for first in spec.after):
            continue  # e.g. showings name prospects: wait for the first prospects pass
        full_due = reprobe or (
            spec.incremental
            and (state is None or state.last_full_at is None or now - state.last_full_at >= settings.RENTENGINE_FULL_SYNC_EVERY)
        )
        if state is None or state.last_started_at is None or now - state.last_started_at >= spec.interval or full_due:
            due.append((name, bool(full_due)))
    return due


def lane_for(kind: str) -> Lane:
    return Lane.BACKFILL if kind == FULL else Lane.INCREMENTAL


def run_fail(resource: str, run_id: uuid.UUID | str, exc: Exception) -> str:
    """End a run that could not even start a step (e.g. no token configured)."""
    state = state_for(resource)
    if str(state.run_id) != str(run_id):
        return "stale"
    spec = resource_specs()[resource]
    return _fail(spec, state, Pass(state=state, client=None, kind=state.run_kind, progress=dict(state.progress)), exc, 0)  # type: ignore[arg-type]
