"""What the sync pulls: each RentEngine resource, how its pages are fetched (resumably) and applied.

Passes are token-wide (lists without an account filter return every account of the token in the fewest
requests); reporting showings need account ids, so one request per window names them all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.rentengine import mirror, vocabulary
from integrations.rentengine.client import InvalidRequest, Page, RentEngineClient
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
    SyncState,
    Unit,
    UnitAvailability,
)

logger = logging.getLogger(__name__)

SHOWINGS_PAST_DAYS_INCREMENTAL = 7
SHOWINGS_PAST_DAYS_FULL = 180
SHOWINGS_AHEAD_DAYS = 31
INCREMENTAL, FULL = "incremental", "full"


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
        stale = timezone.now() - resource_specs()["availability"].interval
        units = units.filter(Q(availability__isnull=True) | Q(availability__fetched_at__lt=stale))
    for unit_id in units.order_by("id").values_list("id", flat=True):
        try:
            record = p.client.showing_availability(unit_id)
            availability_store(unit_id, record=record)
        except InvalidRequest as exc:  # one unit RentEngine can't answer for must not stop the others
            availability_store(unit_id, error=exc.message)
        yield _single_page(), {"after_unit": unit_id}


def _single_page() -> Page[Any]:
    from integrations.rentengine.client import Parsed

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


def resource_specs() -> dict[str, Resource]:
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
