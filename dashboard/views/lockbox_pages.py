"""Lockboxes: the inventory (state colour, installed unit, age of the last event), each box's page
with its whole event timeline, and the portfolio-wide activity feed joined to showings and prospects."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboard.display import charts, pills
from dashboard.display.links import link, list_link
from dashboard.display.moments import SHORT_DATETIME, age, moment
from dashboard.display.row_models import LockboxRow
from dashboard.display.timeline import Item, by_day, lockbox_event_item, lockbox_event_title, lockbox_event_user_ids
from dashboard.lists.filtering import CursorField, Sort
from dashboard.lists.filters import LockboxActivityFilter, LockboxFilter
from dashboard.lists.list_page import list_page
from dashboard.lists.paging import keyset_page
from dashboard.lists.prospect_timeline import SHOWING_WINDOW_AFTER, SHOWING_WINDOW_BEFORE
from dashboard.live.row_patches import RowsAsk, live_rows_context, new_count, rows_ask
from dashboard.models import get_for_user_or_404, user_is_manager
from dashboard.people.access import account_zone, request_account
from dashboard.people.names import people_names
from dashboard.views.alert_pages import lockbox_muted_until
from dashboard.views.frame import no_account, render_zoned
from dashboard.views.lockbox_action_pages import desk_request_items
from integrations.rentengine.models import Account, Lockbox, LockboxEvent, LockboxInstallation, Showing, Unit

PAGE_SIZE = 50
EVENT_SORT = Sort("created_at", True, "Newest first")
# What a row shows (and the sorts read), read as plain values: no model instances for 50 rows.
LOCKBOX_ROW_FIELDS = (
    "id",
    "serial_number",
    "lockbox_type",
    "current_unit_id",
    "installed_at",
    "last_event_at",
    "account_id",
    "current_unit__id",  # None when the mirror doesn't hold the unit (yet)
    "current_unit__address",
    "current_unit__account_id",
)
# What a feed row shows.
ACTIVITY_FIELDS = (
    "id", "lockbox_id", "unit_id", "event_type", "metadata", "created_for", "created_at",
    "lockbox__id", "lockbox__serial_number", "lockbox__lockbox_type", "unit__id", "unit__address",
)  # fmt: skip


def lockbox_row(box: dict[str, Any], zone: ZoneInfo, now: datetime, *, gone: bool = False) -> LockboxRow:
    """What the inventory shows of one lockbox (its LOCKBOX_ROW_FIELDS)."""
    unit_id, last_event_at = box["current_unit_id"], box["last_event_at"]
    return LockboxRow(
        id=str(box["id"]),
        url=link("lockbox", box["id"]),
        serial_number=box["serial_number"],
        lockbox_type=box["lockbox_type"],
        pill=pills.lockbox_state_pill(unit_id, last_event_at, now),
        unit_id=unit_id,
        unit_url=link("unit", unit_id) if unit_id else "",
        unit_text=_unit_text(box),
        installed=moment(box["installed_at"], zone) if unit_id else None,
        last_event=moment(last_event_at, zone, SHORT_DATETIME),
        last_event_age=age(last_event_at, now),
        gone=gone,
    )


def _unit_text(box: dict[str, Any]) -> str:
    if box["current_unit__id"] is None:
        return ""
    if box["current_unit__account_id"] != box["account_id"]:  # a box moved in, still on its old account's unit
        return "a unit of another account"
    return str(box["current_unit__address"] or box["current_unit_id"])


def _live_rows(request: HttpRequest, account: Account, ask: RowsAsk, filters: LockboxFilter) -> HttpResponse:
    """For an open list (live screens): its rows as they are now, deleted ones marked, and how many
    new lockboxes match its filter."""
    found = list(Lockbox.objects.filter(account=account, pk__in=ask.ids).values(*LOCKBOX_ROW_FIELDS, "deleted_at"))
    zone, now = account_zone(account), timezone.now()
    rows = [lockbox_row(box, zone, now, gone=box["deleted_at"] is not None) for box in found]
    new = new_count(ask, filters.qs, filters.sort, Lockbox.objects.filter(account=account))
    return render_zoned(request, "lockboxes/list.html#live_rows", live_rows_context(request, ask, rows, new), zone)


@require_GET
def lockbox_list(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        return no_account(request, "Lockboxes")
    filters = LockboxFilter(request.GET, account=account)
    ask = rows_ask(request, Lockbox)
    if ask is not None:
        return _live_rows(request, account, ask, filters)
    listed = list_page(
        request,
        account,
        filters,
        filters.qs.values(*LOCKBOX_ROW_FIELDS),
        "lockboxes/list.html",
        title="Lockboxes",
        size=PAGE_SIZE,
    )
    now = timezone.now()
    zone = account_zone(account)
    context = listed.context | {"rows": [lockbox_row(box, zone, now) for box in listed.page.rows]}
    if not listed.rows_only:
        context |= {
            "states": list(LockboxFilter.STATES.items()),
            "types": LockboxFilter.TYPES,
            "sorts": LockboxFilter.sort_choices(),
        }
    if listed.whole:  # the chart sits outside the parts that filters and "load more" swap
        context["activity_chart"] = charts.lockbox_activity_svg(account, today=now.astimezone(zone).date(), zone=zone)
    return render_zoned(request, listed.template, context, zone)


def _get_lockbox_for_user(request: HttpRequest, lockbox_id: Any) -> Lockbox:
    return get_for_user_or_404(Lockbox.objects.alive().select_related("account", "current_unit"), request.user, pk=lockbox_id)


@require_GET
def lockbox_detail(request: HttpRequest, lockbox_id: Any) -> HttpResponse:
    lockbox = _get_lockbox_for_user(request, lockbox_id)
    zone = account_zone(lockbox.account)
    cursor = CursorField().clean(request.GET.get("after"))
    # The lockbox's account only: after a transfer, its events from the other account stay theirs.
    events_here = LockboxEvent.objects.alive().filter(account_id=lockbox.account_id, lockbox_id=lockbox.id).defer("raw")
    page = keyset_page(events_here, EVENT_SORT, cursor=cursor)
    names = people_names(lockbox_event_user_ids(page.rows), account_id=lockbox.account_id)
    units = {
        u.id: u
        for u in Unit.objects.filter(account_id=lockbox.account_id, id__in={e.unit_id for e in page.rows if e.unit_id}).only(
            "id", "address"
        )
    }
    items = []
    for event in page.rows:
        unit = units.get(event.unit_id) if event.unit_id else None
        links = []
        if event.unit_id:
            links.append((unit.address if unit and unit.address else f"Unit {event.unit_id}", link("unit", event.unit_id)))
        items.append(lockbox_event_item(event, names, zone, links=links))
    if page.is_first:  # what people asked from the desk, beside the events it led to
        since = page.rows[-1].created_at if page.has_next and page.rows else None
        items = sorted(items + desk_request_items(lockbox, zone, since=since), key=lambda i: i.at, reverse=True)
    context: dict[str, Any] = {
        "title": str(lockbox),
        "lockbox": lockbox,
        "account": lockbox.account,
        "pill": pills.lockbox_state_pill(lockbox.current_unit_id, lockbox.last_event_at, timezone.now()),
        # A box moved in from another account may still sit on that account's unit: not ours to name.
        "current_unit": lockbox.current_unit
        if lockbox.current_unit and lockbox.current_unit.account_id == lockbox.account_id
        else None,
        "days": by_day(items, zone),
        "page": page,
        "query": "",
    }
    htmx = getattr(request, "htmx", None)
    if user_is_manager(request.user, lockbox.account):
        context |= {"can_mute": True, "muted_until": lockbox_muted_until(lockbox)}
    if not lockbox.current_unit_id:
        context["free_units"] = list(
            Unit.objects.alive()
            .filter(account_id=lockbox.account_id)
            .exclude(current_lockboxes__isnull=False)
            .only("id", "address")
            .order_by("address", "id")[:500]
        )
    if htmx and request.GET.get("after"):
        return render_zoned(request, "lockboxes/detail.html#events", context, zone)
    context["installations"] = list(
        LockboxInstallation.objects.alive()
        .filter(account_id=lockbox.account_id, lockbox_id=lockbox.id)
        .select_related("unit")
        .only("id", "installed_at", "uninstalled_at", "unit_id", "unit__id", "unit__address")
        .order_by("-installed_at")[:50]
    )
    return render_zoned(request, "lockboxes/detail.html", context, zone)


# --- activity feed ----------------------------------------------------------------------------------


def showings_matching(account: Account, events: list[LockboxEvent]) -> dict[Any, Showing]:
    """{lockbox event id: the showing it most likely served}, in one query.

    A match is a showing on the event's unit whose time window holds the event; among several, the
    one whose prospect's name is the code's "created for" wins, then the nearest in time.
    """
    placed = [e for e in events if e.unit_id]
    if not placed:
        return {}
    earliest = min(e.created_at for e in placed) - SHOWING_WINDOW_AFTER
    latest = max(e.created_at for e in placed) + SHOWING_WINDOW_BEFORE
    candidates = list(
        Showing.objects.alive()
        .filter(account=account, unit_id__in={e.unit_id for e in placed}, planned_at__gte=earliest, planned_at__lte=latest)
        .only("id", "unit_id", "prospect_id", "prospect_name", "planned_at", "status")[:500]
    )
    matches: dict[Any, Showing] = {}
    for event in placed:
        near = [
            s
            for s in candidates
            if s.unit_id == event.unit_id
            and s.planned_at is not None
            and s.planned_at - SHOWING_WINDOW_BEFORE <= event.created_at <= s.planned_at + SHOWING_WINDOW_AFTER
        ]
        if near:
            wanted = (event.created_for or "").strip().lower()
            near.sort(
                key=lambda s: (s.prospect_name.strip().lower() != wanted, abs((s.planned_at - event.created_at).total_seconds()))
            )
            matches[event.id] = near[0]
    return matches


@require_GET
def lockbox_activity(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        return no_account(request, "Lockbox activity")
    filters = LockboxActivityFilter(request.GET, account=account)
    zone = account_zone(account)
    listed = list_page(
        request,
        account,
        filters,
        filters.qs.select_related("lockbox", "unit").only(*ACTIVITY_FIELDS),
        "lockboxes/activity.html",
        title="Lockbox activity",
        size=PAGE_SIZE,
        count_cap=None,
    )
    page = listed.page
    names = people_names(lockbox_event_user_ids(page.rows), account_id=account.pk)
    matches = showings_matching(account, page.rows)
    items = [activity_item(event, names, zone, matches.get(event.id)) for event in page.rows]
    context = listed.context | {"days": by_day(items, zone), "types": pills.LOCKBOX_EVENT_TYPES}
    if filters.values["unit"] is not None and not listed.rows_only:
        context["unit_filter"] = next((e.unit for e in page.rows if e.unit), None)
    return render_zoned(request, listed.template, context, zone)


def activity_item(event: LockboxEvent, names: dict[str, str], zone: ZoneInfo, showing: Showing | None) -> Item:
    """A feed row: the event with its lockbox, unit, and the showing (and prospect) it likely served."""
    links = [("Lockbox", link("lockbox", event.lockbox_id))]
    if event.unit_id:
        label = event.unit.address if event.unit and event.unit.address else f"Unit {event.unit_id}"
        links.append((label, link("unit", event.unit_id)))
    if showing is not None and showing.planned_at:
        day = showing.planned_at.astimezone(zone).date().isoformat()
        links.append((f"Showing {showing.status}".strip(), f"{list_link('showings')}?date={day}#showing-{showing.id}"))
        if showing.prospect_id:
            links.append((showing.prospect_name or "Prospect", link("prospect", showing.prospect_id)))
    title = lockbox_event_title(event)
    return lockbox_event_item(
        event, names, zone, links=links, title=f"{event.lockbox.serial_number} · {title}" if event.lockbox else title
    )
