"""Pull RentEngine into the mirror: per resource, incremental passes with a cursor and full passes
that also detect deletions, run as chains of short steps.

A run belongs to one resource and is resumable: each step does a few seconds of work (whole pages),
saves where to continue in `SyncState.progress`, and hands back "more" or "done". The Celery task
re-enqueues itself on "more"; the foreground command just loops. A lease on the state row makes it
one run at a time per resource, and a lease a dead worker cannot hold forever.

Passes are token-wide: RentEngine scopes a token to its accounts, and lists without an account filter
return all of them in the fewest requests, which is what the rate limit rewards. Reporting showings
are the exception (the endpoint requires account ids): one window per account.

Endpoints and parameters marked INFERRED in API-FACTS may not exist on the real service. A 404
(for reporting showings also a 403: the token may not use reporting) switches such a resource off,
a 400 for an unknown parameter switches it to its fallback, each with a notice on /sync/ and in the
command's output; the rest of the sync goes on and succeeds. An off resource costs no request until
REPROBE_AFTER has passed; then its next pass is a full one that tries the endpoint again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.rentengine import mirror, vocabulary
from integrations.rentengine.changes import mirror_changed, scopes_bump
from integrations.rentengine.client import InvalidRequest, NotFound, Page, RentEngineClient, RentEngineError, TokenRejected
from integrations.rentengine.limiter import Lane
from integrations.rentengine.models import (
    Account,
    Floorplan,
    LeasingEvent,
    Lockbox,
    LockboxEvent,
    LockboxInstallation,
    MirrorRow,
    MultifamilyProperty,
    PrescreeningTemplate,
    Prospect,
    Subteam,
    SyncMiss,
    SyncRun,
    SyncSighting,
    SyncState,
    Unit,
    UnitAvailability,
)

logger = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=5)  # re-read a little before the cursor: clocks and commits are not instant
STEP_SECONDS = 4.0  # work per Celery step before handing back
LEASE = timedelta(seconds=90)  # a step renews it; a dead worker's run is free again after this
REPROBE_AFTER = timedelta(hours=24)  # try an INFERRED endpoint that was switched off again
SHOWINGS_PAST_DAYS_INCREMENTAL = 7
SHOWINGS_PAST_DAYS_FULL = 180
SHOWINGS_AHEAD_DAYS = 31
MISSING_SAFETY_RATIO = 0.5  # a full pass that lists fewer rows than this share of the mirror deletes nothing
RUN_HISTORY = 500

INCREMENTAL, FULL = "incremental", "full"
# Full passes of these defer derived state (statuses, assignees, a lockbox's unit) to their end.
DERIVED_FROM = frozenset({"prospects", "leasing_events", "lockboxes", "lockbox_events", "lockbox_installations"})


class SyncBusy(Exception):
    """Another run of this resource holds the lease."""


@dataclass
class Pass:
    """What a step needs: the state row, a client, and where the run is."""

    state: SyncState
    client: RentEngineClient
    kind: str
    progress: dict[str, Any]

    @property
    def resumed_page(self) -> int:
        return int(self.progress.get("page") or 0)

    @property
    def since(self) -> datetime | None:
        value = self.progress.get("since")
        return parse_datetime(value) if value else None

    @property
    def mode(self) -> str:
        return self.state.mode


# A page source yields (page, where-to-resume-after-this-page). Resuming state lives in progress.
PageSource = Callable[[Pass], Iterator[tuple[Page[Any], dict[str, Any]]]]
PageApply = Callable[[Pass, Page[Any]], mirror.Applied]


@dataclass(frozen=True)
class Resource:
    name: str
    label: str
    interval: timedelta  # how often a pass is due
    pages: PageSource
    apply: PageApply
    model: type[MirrorRow] | None = None  # full passes of complete listings detect deletions in it
    cursor_field: str | None = None  # incremental resources: the record time that advances the cursor
    windowed: bool = False  # incremental passes read a recent window instead of following a cursor
    inferred_endpoint: bool = False  # a 404 switches the resource off instead of failing
    off_when_forbidden: bool = False  # a 403 too (the token may not use it); a wrong token is a 401
    fallback_partial: bool = False  # in fallback a full pass lists only some rows: it can't detect deletions
    off_notice: str = ""
    fallback_notice: str = ""
    notice_kind: str = ""  # change-notice kind (changes.KIND_SCOPES)
    after: tuple[str, ...] = ()  # resources that must have synced once before this one is due

    @property
    def incremental(self) -> bool:
        return self.cursor_field is not None or self.windowed


# --- page sources ---------------------------------------------------------------------------------


def _paged(pages: Callable[[], Iterator[Page[Any]]], p: Pass) -> Iterator[tuple[Page[Any], dict[str, Any]]]:
    """A simple paged listing, resumable at its page number; {"page": None} marks it finished."""
    if "page" in p.progress and p.progress["page"] is None:
        return
    for page in pages():
        yield page, {"page": page.next_page_number}


def _units_pages(p: Pass) -> Iterator[tuple[Page[Any], dict[str, Any]]]:
    since = p.since if p.kind == INCREMENTAL and p.mode == SyncState.Mode.NORMAL else None
    return _paged(lambda: p.client.units(updated_after=since, page_number=p.resumed_page), p)


def _prospects_pages(p: Pass) -> Iterator[tuple[Page[Any], dict[str, Any]]]:
    if p.kind == FULL or p.since is None:
        return _paged(lambda: p.client.prospects(page_number=p.resumed_page), p)
    if p.mode == SyncState.Mode.NORMAL:
        return _paged(lambda: p.client.prospects(updated_after=p.since, page_number=p.resumed_page), p)
    # Fallback: RentEngine has no updated_after here; new prospects by created_after (LIVE), and
    # changes to older ones come by webhook and by the nightly full pass.
    return _paged(lambda: p.client.prospects(created_after=p.since, page_number=p.resumed_page), p)


def _leasing_events_pages(p: Pass) -> Iterator[tuple[Page[Any], dict[str, Any]]]:
    if p.mode == SyncState.Mode.NORMAL:
        since = p.since if p.kind == INCREMENTAL else None
        return _paged(lambda: p.client.leasing_events(created_after=since, page_number=p.resumed_page), p)
    return _leasing_events_by_prospect(p)


def _leasing_events_by_prospect(p: Pass) -> Iterator[tuple[Page[Any], dict[str, Any]]]:
    """Fallback when events can't be listed account-wide: fetch them one prospect at a time, only for
    prospects whose state is unknown (never fetched, or changed since)."""
    after = int(p.progress.get("after_prospect") or 0)
    while True:
        batch = list(
            Prospect.objects.alive()
            .filter(id__gt=after)
            .filter(_events_unknown())
            .order_by("id")
            .values_list("id", flat=True)[:50]
        )
        if not batch:
            return
        for prospect_id in batch:
            page_number = p.resumed_page if prospect_id == p.progress.get("prospect") else 0
            for page in p.client.leasing_events(prospect_id=prospect_id, page_number=page_number):
                done = page.next_page_number is None
                if done:
                    Prospect.objects.filter(id=prospect_id).update(events_fetched_at=timezone.now())
                yield (
                    page,
                    (
                        {"after_prospect": prospect_id, "page": 0}
                        if done
                        else {"after_prospect": after, "prospect": prospect_id, "page": page.next_page_number}
                    ),
                )
            after = prospect_id


def _events_unknown() -> Any:
    from django.db.models import F, Q

    return Q(events_fetched_at__isnull=True) | Q(source_updated_at__gt=F("events_fetched_at"))


def _lockboxes_pages(p: Pass) -> Iterator[tuple[Page[Any], dict[str, Any]]]:
    return _paged(lambda: p.client.lockboxes(page_number=p.resumed_page), p)


def _lockbox_events_pages(p: Pass) -> Iterator[tuple[Page[Any], dict[str, Any]]]:
    since = p.since if p.kind == INCREMENTAL else None
    return _paged(lambda: p.client.lockbox_events(created_at_from=since, page_number=p.resumed_page), p)


def _lockbox_installations_pages(p: Pass) -> Iterator[tuple[Page[Any], dict[str, Any]]]:
    return _paged(lambda: p.client.lockbox_installations(page_number=p.resumed_page), p)


def _subteams_pages(p: Pass) -> Iterator[tuple[Page[Any], dict[str, Any]]]:
    return _paged(lambda: p.client.subteams(page_number=p.resumed_page), p)


def _templates_pages(p: Pass) -> Iterator[tuple[Page[Any], dict[str, Any]]]:
    return _paged(lambda: p.client.prescreening_templates(page_number=p.resumed_page), p)


def _multifamily_pages(p: Pass) -> Iterator[tuple[Page[Any], dict[str, Any]]]:
    return _paged(lambda: p.client.multifamily_properties(page_number=p.resumed_page), p)


def _floorplans_pages(p: Pass) -> Iterator[tuple[Page[Any], dict[str, Any]]]:
    return _paged(lambda: p.client.floorplans(page_number=p.resumed_page), p)


def showing_windows(kind: str, now: datetime) -> list[tuple[datetime, datetime]]:
    """Windows of at most 32 days (RentEngine's limit): an incremental pass reads one window around
    today; a full pass goes back half a year."""
    ahead = timedelta(days=SHOWINGS_AHEAD_DAYS)
    if kind == INCREMENTAL:
        start = now - timedelta(days=SHOWINGS_PAST_DAYS_INCREMENTAL)
        return [(start, start + timedelta(days=vocabulary.REPORTING_MAX_SPAN_DAYS) - timedelta(seconds=1))]
    start = (now - timedelta(days=SHOWINGS_PAST_DAYS_FULL)).replace(hour=0, minute=0, second=0, microsecond=0)
    end = now + ahead
    span = timedelta(days=vocabulary.REPORTING_MAX_SPAN_DAYS) - timedelta(seconds=1)
    windows = []
    while start < end:
        windows.append((start, min(start + span, end)))
        start += span
    return windows


def _showings_pages(p: Pass) -> Iterator[tuple[Page[Any], dict[str, Any]]]:
    """All accounts in one request per window (rows name no account: the prospect tells)."""
    accounts = [str(a) for a in Account.objects.order_by("id").values_list("id", flat=True)]
    if not accounts:
        return
    started = parse_datetime(p.progress.get("started") or "") or timezone.now()
    windows = showing_windows(p.kind, started)
    position = int(p.progress.get("window") or 0)
    for index in range(position, len(windows)):
        start, end = windows[index]
        page_number = p.resumed_page if index == position else 0
        for page in p.client.reporting_showings(accounts, start, end, page_number=page_number):
            after = (
                {"window": index, "page": page.next_page_number}
                if page.next_page_number is not None
                else {"window": index + 1, "page": 0}
            )
            yield page, after


def _availability_pages(p: Pass) -> Iterator[tuple[Page[Any], dict[str, Any]]]:
    """One request per on-market unit whose cached windows are older than the interval (a full pass
    refreshes them all): the windows agents see on the unit page."""
    from django.db.models import Q

    after = int(p.progress.get("after_unit") or 0)
    on_market = [str(s) for s in vocabulary.UNIT_STATUSES_ON_MARKET]
    units = Unit.objects.alive().filter(status__in=on_market, id__gt=after)
    if p.kind != FULL:
        stale = timezone.now() - resources()["availability"].interval
        units = units.filter(Q(availability__isnull=True) | Q(availability__fetched_at__lt=stale))
    for unit_id in units.order_by("id").values_list("id", flat=True):
        try:
            record = p.client.showing_availability(unit_id)
            availability_store(unit_id, record=record)
        except InvalidRequest as exc:  # one unit RentEngine can't answer for must not stop the others
            availability_store(unit_id, error=exc.message)
        yield _single_page(), {"after_unit": unit_id}


def _single_page() -> Page[Any]:
    from integrations.rentengine.records import Parsed

    return Page(parsed=Parsed(records=[], received=1), page_number=0, next_page_number=None, requests=1)


def availability_store(unit_id: int, *, record: Any = None, error: str = "") -> None:
    now = timezone.now()
    values: dict[str, Any] = {"fetched_at": now, "error": error[:500]}
    if record is not None:
        values.update(data=record.raw, timezone_name=record.timezone_name or "")
    UnitAvailability.objects.update_or_create(unit_id=unit_id, defaults=values)
    if record is not None and record.timezone_name:
        # The account's screens show times in its zone; RentEngine says which on availability only.
        Account.objects.filter(units__id=unit_id, time_zone=settings.TIME_ZONE).exclude(time_zone=record.timezone_name).update(
            time_zone=record.timezone_name
        )


# --- page appliers --------------------------------------------------------------------------------


def _apply_with(function: Callable[..., mirror.Applied], *, derived: bool = False) -> PageApply:
    """`derived`: the apply function recomputes derived state (statuses, a lockbox's unit); a full
    pass defers that to one recompute at its end (see _finish)."""

    def apply(p: Pass, page: Page[Any]) -> mirror.Applied:
        if derived:
            return function(page.records, refresh=p.kind != FULL)
        return function(page.records)

    return apply


def _showings_apply(p: Pass, page: Page[Any]) -> mirror.Applied:
    return mirror.showings_apply(page.records)


def _nothing_to_apply(p: Pass, page: Page[Any]) -> mirror.Applied:
    return mirror.Applied(seen=1)


def _interval(name: str, default_seconds: int) -> timedelta:
    return timedelta(seconds=settings.RENTENGINE_SYNC_INTERVALS.get(name, default_seconds))


def resources() -> dict[str, Resource]:
    """Every resource the mirror syncs, in the order a full sync runs them (references first)."""
    items = [
        Resource("subteams", "Subteams", _interval("subteams", 3600), _subteams_pages, _apply_with(mirror.subteams_apply),
                 model=Subteam, inferred_endpoint=True, notice_kind="subteams",
                 off_notice="RentEngine has no GET /subteams here (INFERRED endpoint): subteams are not shown."),
        Resource("prescreening_templates", "Prescreening templates", _interval("prescreening_templates", 3600), _templates_pages,
                 _apply_with(mirror.prescreening_templates_apply), model=PrescreeningTemplate, notice_kind="prescreening_templates"),
        Resource("multifamily_properties", "Multifamily properties", _interval("multifamily_properties", 3600), _multifamily_pages,
                 _apply_with(mirror.multifamily_properties_apply), model=MultifamilyProperty, inferred_endpoint=True,
                 notice_kind="multifamily_properties",
                 off_notice="RentEngine has no GET /multifamily_properties here (INFERRED endpoint): multifamily properties are not shown."),
        Resource("floorplans", "Floorplans", _interval("floorplans", 3600), _floorplans_pages, _apply_with(mirror.floorplans_apply),
                 model=Floorplan, inferred_endpoint=True, notice_kind="floorplans",
                 off_notice="RentEngine has no GET /floorplans here (INFERRED endpoint): floorplans are not shown."),
        Resource("units", "Units", _interval("units", 300), _units_pages, _apply_with(mirror.units_apply), model=Unit,
                 cursor_field="updated_at", notice_kind="units",
                 fallback_notice="GET /units does not accept updated_after: every units pass lists all units."),
        Resource("prospects", "Prospects", _interval("prospects", 60), _prospects_pages, _apply_with(mirror.prospects_apply, derived=True),
                 model=Prospect, cursor_field="updated_at", notice_kind="prospects",
                 fallback_notice="GET /prospects does not accept updated_after (INFERRED): incremental passes fetch new prospects "
                 "by created_after; changes to older ones arrive by webhook and nightly full passes."),
        Resource("leasing_events", "Leasing events", _interval("leasing_events", 60), _leasing_events_pages,
                 _apply_with(mirror.leasing_events_apply, derived=True), model=LeasingEvent, cursor_field="created_at", inferred_endpoint=True,
                 notice_kind="leasing_events", fallback_partial=True,
                 fallback_notice="GET /leasing_events can't list an account's events by created_after (INFERRED): events are "
                 "fetched one prospect at a time for prospects whose state is unknown, and arrive by webhook.",
                 off_notice="RentEngine has no GET /leasing_events here: events arrive only by webhook and from our own posts."),
        Resource("lockboxes", "Lockboxes", _interval("lockboxes", 900), _lockboxes_pages, _apply_with(mirror.lockboxes_apply, derived=True),
                 model=Lockbox, notice_kind="lockboxes"),
        Resource("lockbox_events", "Lockbox events", _interval("lockbox_events", 60), _lockbox_events_pages,
                 _apply_with(mirror.lockbox_events_apply, derived=True), model=LockboxEvent, cursor_field="created_at", notice_kind="lockbox_events"),
        Resource("lockbox_installations", "Lockbox installations", _interval("lockbox_installations", 900), _lockbox_installations_pages,
                 _apply_with(mirror.lockbox_installations_apply, derived=True), model=LockboxInstallation, inferred_endpoint=True,
                 notice_kind="lockbox_installations",
                 off_notice="RentEngine has no GET /lockbox_installations here (INFERRED endpoint): which lockbox is on which unit "
                 "is derived from Install and Uninstall events."),
        Resource("showings", "Showings", _interval("showings", 300), _showings_pages, _showings_apply, notice_kind="showings",
                 windowed=True, inferred_endpoint=True, off_when_forbidden=True, after=("prospects",),
                 off_notice="GET /reporting/showings is not available to this token: the agenda shows showing-related leasing events only."),
        Resource("availability", "Showing availability", _interval("availability", 3600), _availability_pages, _nothing_to_apply,
                 windowed=True, notice_kind="availability", after=("units",)),
    ]  # fmt: skip
    return {r.name: r for r in items}


# --- runs -----------------------------------------------------------------------------------------


def state_for(resource: str) -> SyncState:
    state, _ = SyncState.objects.get_or_create(resource=resource)
    return state


def run_start(resource: str, *, full: bool = False, now: datetime | None = None) -> uuid.UUID:
    """Claim the resource for a new run (raises SyncBusy if another live run holds it)."""
    spec = resources()[resource]
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
    scopes_bump(["sync"])
    return state.run_id


def _reprobe_due(state: SyncState, now: datetime) -> bool:
    return state.mode_changed_at is None or now - state.mode_changed_at >= REPROBE_AFTER


def run_step(resource: str, run_id: uuid.UUID | str, *, client: RentEngineClient, budget: float = STEP_SECONDS) -> str:
    """Do up to `budget` seconds of whole pages of this run. Returns "more", "done", "failed" or
    "stale" (the run is no longer the resource's current run: a newer one took over)."""
    spec = resources()[resource]
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
                _relaxed_commit()
                applied = spec.apply(pass_, page)
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


def _relaxed_commit() -> None:
    """The mirror can always be re-read from RentEngine, so sync commits need not wait for the disk:
    after a crash PostgreSQL comes back consistent as of a moment earlier (data and progress commit
    together), and the next pass re-reads what was lost. Webhooks keep full durability: their
    answer promises the delivery is stored."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO off")  # this transaction only


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
    if not ids:
        return
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(SyncSighting._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (resource, row_id) SELECT %s, unnest(%s::text[]) ON CONFLICT DO NOTHING",
                [resource, sorted(ids)],
            )
    else:
        SyncSighting.objects.bulk_create([SyncSighting(resource=resource, row_id=i) for i in ids], ignore_conflicts=True)


def _save_progress(state: SyncState, p: Pass, requests: int) -> None:
    p.progress["requests"] = int(p.progress.get("requests") or 0) + requests
    SyncState.objects.filter(pk=state.pk, run_id=state.run_id).update(
        progress=p.progress, lease_expires_at=timezone.now() + LEASE
    )
    state.progress = p.progress


def _mode_switch(state: SyncState, mode: str, notice: str, exc: Exception) -> None:
    logger.warning("sync of %s: %s (%s)", state.resource, notice, exc)
    state.mode, state.notice, state.mode_changed_at = mode, notice, timezone.now()
    state.save(update_fields=["mode", "notice", "mode_changed_at"])


def _finish(spec: Resource, state: SyncState, p: Pass, *, outcome: str, error: str = "", error_kind: str = "") -> str:
    now = timezone.now()
    if outcome == SyncState.Outcome.OK and p.kind == FULL and spec.name in DERIVED_FROM and p.progress.get("pages"):
        # (A pass that applied no page, e.g. one switched off, deferred nothing.)
        prospects_changed, lockboxes_changed = mirror.derived_refresh_all()
        p.progress["changed"] = int(p.progress.get("changed") or 0) + prospects_changed + lockboxes_changed
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
    scopes_bump(["sync"])
    return "done" if outcome == SyncState.Outcome.OK else "failed"


def _fail(spec: Resource, state: SyncState, p: Pass, exc: Exception, requests: int) -> str:
    p.progress["requests"] = int(p.progress.get("requests") or 0) + requests
    message = exc.message if isinstance(exc, RentEngineError) else f"{type(exc).__name__}: {exc}"
    logger.warning("sync of %s failed: %s", spec.name, message)
    return _finish(spec, state, p, outcome=SyncState.Outcome.FAILED, error=message[:2000], error_kind=type(exc).__name__)


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
    """The last summary (no database query); empty until a sync has finished."""
    return cache.get(HEALTH_KEY) or {}


# --- scheduling -----------------------------------------------------------------------------------


def resources_due(now: datetime | None = None) -> list[tuple[str, bool]]:
    """(resource, full) pairs whose next pass is due and that no live run holds."""
    now = now or timezone.now()
    states = {s.resource: s for s in SyncState.objects.all()}
    due = []
    for name, spec in resources().items():
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
    spec = resources()[resource]
    return _fail(spec, state, Pass(state=state, client=None, kind=state.run_kind, progress=dict(state.progress)), exc, 0)  # type: ignore[arg-type]
