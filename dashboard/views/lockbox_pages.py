"""Lockboxes: the inventory (state colour, installed unit, age of the last event), each box's page
with its whole event timeline, and the portfolio-wide activity feed joined to showings and prospects."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboard.display import charts, pills
from dashboard.display.timeline import (
    SHOWING_WINDOW_AFTER,
    SHOWING_WINDOW_BEFORE,
    Item,
    by_day,
    link,
    lockbox_event_item,
    lockbox_event_user_ids,
)
from dashboard.lists.list_page import Params, day_end, day_start, list_template, query_without
from dashboard.lists.paging import Sort, count_capped, keyset_page
from dashboard.live.row_patches import RowsAsk, live_rows_context, new_count, rows_ask
from dashboard.models import get_for_user_or_404
from dashboard.people.access import account_zone, request_account
from dashboard.people.names import people_names
from dashboard.views.frame import no_account, render_zoned
from integrations.rentengine.models import Account, Lockbox, LockboxEvent, LockboxInstallation, Showing, Unit

SORTS = {
    "serial": Sort("serial_number", False, "Serial number"),
    "last_event": Sort("last_event_at", True, "Latest activity"),
    "quietest": Sort("last_event_at", False, "Quietest first"),
    "installed": Sort("installed_at", True, "Recently installed"),
}
STATES = {key: label for key, (label, _) in pills.LOCKBOX_STATES.items()}
COUNT_CAP = 1_000
PAGE_SIZE = 50
EVENT_SORT = Sort("created_at", True, "Newest first")
# What a row shows (and the sorts read): the unit's other ~40 columns, JSON among them, stay unread.
LOCKBOX_ROW_FIELDS = (
    "id",
    "account_id",
    "serial_number",
    "lockbox_type",
    "current_unit_id",
    "installed_at",
    "last_event_at",
    "current_unit__id",
    "current_unit__address",
)


def lockboxes_filtered(account: Account, params: Params) -> tuple[QuerySet[Lockbox], dict[str, Any]]:
    f: dict[str, Any] = {
        "q": params.text("q"),
        "state": params.choice("state", STATES),
        "type": params.text("type"),
        "sort": params.choice("sort", SORTS, "serial"),
    }
    qs = Lockbox.objects.alive().filter(account=account)
    if f["q"]:
        qs = qs.filter(serial_number__icontains=f["q"])
    quiet_since = timezone.now() - pills.LOCKBOX_QUIET_AFTER
    if f["state"] == "not_installed":
        qs = qs.filter(current_unit_id__isnull=True)
    elif f["state"] == "installed":
        qs = qs.filter(current_unit_id__isnull=False, last_event_at__gt=quiet_since)
    elif f["state"] == "quiet":
        qs = qs.filter(Q(last_event_at__isnull=True) | Q(last_event_at__lte=quiet_since), current_unit_id__isnull=False)
    if f["type"]:
        qs = qs.filter(lockbox_type=f["type"])
    f["active"] = sum(1 for k in ("state", "type") if f[k])
    return qs, f


def _rows_decorate(boxes: list[Lockbox], zone: ZoneInfo, now: datetime) -> None:
    for box in boxes:
        box.pill = pills.lockbox_state_pill(box.current_unit_id, box.last_event_at, now)  # type: ignore[attr-defined]
        box.installed = pills.moment(box.installed_at, zone) if box.current_unit_id else None  # type: ignore[attr-defined]
        box.last_event = pills.moment(box.last_event_at, zone, pills.SHORT_DATETIME)  # type: ignore[attr-defined]
        box.last_event_age = pills.age(box.last_event_at, now)  # type: ignore[attr-defined]


def _live_rows(request: HttpRequest, account: Account, ask: RowsAsk, matching: QuerySet[Lockbox], sort: Sort) -> HttpResponse:
    """For an open list (live screens): its rows as they are now, deleted ones marked, and how many
    new lockboxes match its filter."""
    rows = list(
        Lockbox.objects.filter(account=account, pk__in=ask.ids)
        .select_related("current_unit")
        .only(*LOCKBOX_ROW_FIELDS, "deleted_at")
    )
    zone = account_zone(account)
    _rows_decorate(rows, zone, timezone.now())
    for box in rows:
        box.gone = box.deleted_at is not None  # type: ignore[attr-defined]
    new = new_count(ask, matching, sort, Lockbox.objects.filter(account=account))
    context = live_rows_context(request, ask, rows, new) | {"lockbox_base": reverse("lockboxes"), "unit_base": reverse("units")}
    return render_zoned(request, "lockboxes/list.html#live_rows", context, zone)


@require_GET
def lockbox_list(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        return no_account(request, "Lockboxes")
    params = Params(request.GET)
    qs, filters = lockboxes_filtered(account, params)
    ask = rows_ask(request, Lockbox)
    if ask is not None:
        return _live_rows(request, account, ask, qs, SORTS[filters["sort"]])
    template = list_template(request, "lockboxes/list.html")
    page = keyset_page(
        qs.select_related("current_unit").only(*LOCKBOX_ROW_FIELDS),
        SORTS[filters["sort"]],
        cursor=params.data.get("after"),
        size=PAGE_SIZE,
    )
    now = timezone.now()
    zone = account_zone(account)
    _rows_decorate(page.rows, zone, now)
    context: dict[str, Any] = {
        "title": "Lockboxes",
        "account": account,
        "page": page,
        "f": filters,
        "query": query_without(request.GET, "after"),
        # The rows build their links from these (without them a unit link resolved under /lockboxes/).
        "lockbox_base": reverse("lockboxes"),
        "unit_base": reverse("units"),
    }
    if not template.endswith("#rows"):
        count = None
        if page.is_first:
            count = len(page.rows) if not page.has_next else None if filters["q"] else count_capped(qs, COUNT_CAP)
        context |= {
            "count": count,
            "count_label": pills.count_label(count, COUNT_CAP) if count is not None else "",
            "states": STATES,
            "types": ("Sentrilock", "Codebox"),
            "sorts": SORTS,
        }
    if "#" not in template:  # the chart sits outside the parts that filters and "load more" swap
        context["activity_chart"] = charts.lockbox_activity_chart(account, today=now.astimezone(zone).date(), zone=zone)
    return render_zoned(request, template, context, account_zone(account))


def _get_lockbox_for_user(request: HttpRequest, lockbox_id: Any) -> Lockbox:
    return get_for_user_or_404(Lockbox.objects.alive().select_related("account", "current_unit"), request.user, pk=lockbox_id)


@require_GET
def lockbox_detail(request: HttpRequest, lockbox_id: Any) -> HttpResponse:
    lockbox = _get_lockbox_for_user(request, lockbox_id)
    zone = account_zone(lockbox.account)
    page = keyset_page(
        LockboxEvent.objects.alive().filter(lockbox_id=lockbox.id).defer("raw"), EVENT_SORT, cursor=request.GET.get("after")
    )
    names = people_names(lockbox_event_user_ids(page.rows))
    units = {u.id: u for u in Unit.objects.filter(id__in={e.unit_id for e in page.rows if e.unit_id}).only("id", "address")}
    items = []
    for event in page.rows:
        item = lockbox_event_item(event, names, with_lockbox=False, with_unit=False)
        unit = units.get(event.unit_id) if event.unit_id else None
        if event.unit_id:
            item.links.append((unit.address if unit and unit.address else f"Unit {event.unit_id}", link("unit", event.unit_id)))
        items.append(item)
    context: dict[str, Any] = {
        "title": str(lockbox),
        "lockbox": lockbox,
        "account": lockbox.account,
        "pill": pills.lockbox_state_pill(lockbox.current_unit_id, lockbox.last_event_at, timezone.now()),
        "days": by_day(items, zone),
        "page": page,
        "query": "",
    }
    htmx = getattr(request, "htmx", None)
    if htmx and request.GET.get("after"):
        return render_zoned(request, "lockboxes/detail.html#events", context, zone)
    context["installations"] = list(
        LockboxInstallation.objects.alive()
        .filter(lockbox_id=lockbox.id)
        .select_related("unit")
        .only("id", "installed_at", "uninstalled_at", "unit_id", "unit__id", "unit__address")
        .order_by("-installed_at")[:50]
    )
    return render_zoned(request, "lockboxes/detail.html", context, zone)


# --- activity feed ----------------------------------------------------------------------------------


def activity_filtered(account: Account, params: Params) -> tuple[QuerySet[LockboxEvent], dict[str, Any]]:
    zone = account_zone(account)
    f: dict[str, Any] = {
        "type": params.choice("type", pills.LOCKBOX_EVENT_TYPES),
        "unit": params.integer("unit"),
        "since": params.day("since"),
        "until": params.day("until"),
    }
    qs = LockboxEvent.objects.alive().filter(account=account)
    if f["type"]:
        qs = qs.filter(event_type=f["type"])
    if f["unit"] is not None:
        qs = qs.filter(unit_id=f["unit"])
    if f["since"]:
        qs = qs.filter(created_at__gte=day_start(f["since"], zone))
    if f["until"]:
        qs = qs.filter(created_at__lt=day_end(f["until"], zone))
    f["active"] = sum(1 for k in ("type", "since", "until") if f[k]) + (f["unit"] is not None)
    return qs, f


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
    params = Params(request.GET)
    qs, filters = activity_filtered(account, params)
    zone = account_zone(account)
    template = list_template(request, "lockboxes/activity.html")
    page = keyset_page(
        qs.select_related("lockbox", "unit").only(
            "id", "lockbox_id", "unit_id", "event_type", "metadata", "created_for", "created_at",
            "lockbox__id", "lockbox__serial_number", "lockbox__lockbox_type", "unit__id", "unit__address",
        ),
        EVENT_SORT,
        cursor=params.data.get("after"),
        size=PAGE_SIZE,
    )  # fmt: skip
    names = people_names(lockbox_event_user_ids(page.rows))
    matches = showings_matching(account, page.rows)
    items: list[Item] = []
    for event in page.rows:
        item = lockbox_event_item(event, names, with_lockbox=False, with_unit=False)
        item.title = f"{event.lockbox.serial_number} · {item.title}" if event.lockbox else item.title
        item.links.append(("Lockbox", link("lockbox", event.lockbox_id)))
        if event.unit_id:
            label = event.unit.address if event.unit and event.unit.address else f"Unit {event.unit_id}"
            item.links.append((label, link("unit", event.unit_id)))
        showing = matches.get(event.id)
        if showing is not None and showing.planned_at:
            day = showing.planned_at.astimezone(zone).date().isoformat()
            item.links.append((f"Showing {showing.status}".strip(), f"{reverse('showings')}?date={day}#showing-{showing.id}"))
            if showing.prospect_id:
                item.links.append((showing.prospect_name or "Prospect", link("prospect", showing.prospect_id)))
        items.append(item)
    context: dict[str, Any] = {
        "title": "Lockbox activity",
        "account": account,
        "page": page,
        "days": by_day(items, zone),
        "f": filters,
        "types": pills.LOCKBOX_EVENT_TYPES,
        "query": query_without(request.GET, "after"),
    }
    if filters["unit"] is not None and not template.endswith("#rows"):
        context["unit_filter"] = next((e.unit for e in page.rows if e.unit), None)
    return render_zoned(request, template, context, zone)
