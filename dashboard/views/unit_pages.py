"""Units: the list with status pills and filters, and the unit page (facts, fees, photos, showing
method, prospects, showings, cached availability windows, the current lockbox and its timeline)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, When
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from pydantic import ValidationError

from dashboard.display import pills
from dashboard.display.links import link, list_link
from dashboard.display.moments import SHORT_DATETIME, moment
from dashboard.display.row_models import UnitProspectRow, UnitRow
from dashboard.display.timeline import by_day, lockbox_event_item, lockbox_event_user_ids, showing_item
from dashboard.display.unit_reference import unit_reference, unit_reference_columns
from dashboard.lists.filters import YES_NO, UnitFilter
from dashboard.lists.list_page import list_page
from dashboard.live.row_patches import RowsAsk, live_rows_context, new_count, rows_ask
from dashboard.models import get_for_user_or_404
from dashboard.people.access import account_zone, request_account
from dashboard.people.names import assignee_user_ids, people_names, person_name, with_assignee_ids
from dashboard.raw_sql import distinct_values
from dashboard.views.frame import no_account, render_zoned
from integrations.rentengine import vocabulary
from integrations.rentengine.client import AvailabilityRecord
from integrations.rentengine.models import (
    Account,
    Lockbox,
    LockboxEvent,
    LockboxInstallation,
    Prospect,
    Showing,
    Unit,
    UnitAvailability,
)

PAGE_SIZE = 50
# What a row shows (and the sorts read), read as plain values: no model instances for 50 rows.
UNIT_ROW_FIELDS = (
    "id",
    "status",
    "address",
    "address_order",
    "city",
    "state",
    "bedrooms",
    "bathrooms",
    "rent",
    "is_occupied",
    "showing_method",
    "source_updated_at",
)


@dataclass(frozen=True)
class UnitExtras:
    """What a units row shows beyond the unit itself: its lockbox and how many open prospects want it."""

    lockboxes: dict[int, Lockbox]
    open_prospects: dict[int, int]


def unit_extras(account: Account, unit_ids: list[int]) -> UnitExtras:
    """Two queries for a whole page of units (the list and its CSV export)."""
    boxes = {
        b.current_unit_id: b
        for b in Lockbox.objects.alive()
        .filter(account=account, current_unit_id__in=unit_ids)
        .only("id", "serial_number", "current_unit_id")
    }
    open_families = [f.value for f in vocabulary.OPEN_STATUS_FAMILIES]
    interest = dict(
        Prospect.objects.alive()
        .filter(account=account, unit_id__in=unit_ids, status_family__in=open_families)
        .values_list("unit_id")
        # COUNT(*), not COUNT(id): the (account, unit, family) index of live prospects then answers
        # alone (migration 0009), without a heap row per prospect.
        .annotate(n=Count("*"))
        .order_by()
    )
    return UnitExtras(lockboxes={k: v for k, v in boxes.items() if k is not None}, open_prospects=interest)


def unit_row(unit: dict[str, Any], extras: UnitExtras, *, gone: bool = False) -> UnitRow:
    """What the list shows of one unit (its UNIT_ROW_FIELDS)."""
    unit_id = unit["id"]
    box = extras.lockboxes.get(unit_id)
    return UnitRow(
        id=unit_id,
        url=link("unit", unit_id),
        address=unit["address"],
        city=unit["city"],
        state=unit["state"],
        pill=pills.unit_status_pill(unit["status"]),
        occupied=bool(unit["is_occupied"]),
        bedrooms=unit["bedrooms"],
        bathrooms=unit["bathrooms"],
        rent=unit["rent"],
        showing_method=unit["showing_method"],
        lockbox_url=link("lockbox", box.id) if box else "",
        lockbox_serial=box.serial_number if box else "",
        open_prospects=extras.open_prospects.get(unit_id, 0),
        open_prospects_url=f"{list_link('prospects')}?assignee=all&family=open&unit={unit_id}",
        gone=gone,
    )


@require_GET
def unit_list(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        return no_account(request, "Units")
    filters = UnitFilter(request.GET, account=account)
    ask = rows_ask(request, Unit)
    if ask is not None:
        return _live_rows(request, account, ask, filters)
    listed = list_page(
        request, account, filters, filters.qs.values(*UNIT_ROW_FIELDS), "units/list.html", title="Units", size=PAGE_SIZE
    )
    extras = unit_extras(account, [u["id"] for u in listed.page.rows])
    context = listed.context | {"rows": [unit_row(u, extras) for u in listed.page.rows]}
    if not listed.rows_only:
        context |= {
            "statuses": pills.UNIT_STATUSES,
            "cities": distinct_values(Unit, "city", account_id=account.id),
            "sorts": UnitFilter.sort_choices(),
            "yes_no": list(YES_NO.items()),
        }
    return render_zoned(request, listed.template, context, account_zone(account))


def _live_rows(request: HttpRequest, account: Account, ask: RowsAsk, filters: UnitFilter) -> HttpResponse:
    """For an open list (live screens): its rows as they are now, deleted ones marked, and how many
    new units match its filter."""
    found = list(Unit.objects.filter(account=account, pk__in=ask.ids).values(*UNIT_ROW_FIELDS, "deleted_at"))
    extras = unit_extras(account, [u["id"] for u in found])
    rows = [unit_row(u, extras, gone=u["deleted_at"] is not None) for u in found]
    new = new_count(ask, filters.qs, filters.sort, Unit.objects.filter(account=account))
    return render_zoned(request, "units/list.html#live_rows", live_rows_context(request, ask, rows, new), account_zone(account))


def _get_unit_for_user(request: HttpRequest, unit_id: int) -> Unit:
    # The cached availability rides along (a reverse one-to-one), and so do the reference links
    # (subqueries), saving a query each.
    units = Unit.objects.alive().select_related("account", "availability").annotate(**unit_reference_columns())
    return get_for_user_or_404(units, request.user, pk=unit_id)


DAYS_SHOWN = 14


@dataclass(frozen=True)
class WindowDay:
    label: str
    iso: str
    slots: list[str]


def _clock(moment: datetime) -> str:
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def _window_days(windows: list[Any], zone: ZoneInfo, now: datetime) -> tuple[list[WindowDay], int]:
    """Upcoming windows per local day as ranges: back-to-back slots with the same showing methods
    merge ("Mon, Dec 7: 9:00 AM-12:00 PM, 2:00 PM-6:00 PM"); the first DAYS_SHOWN days, and how
    many more days have windows."""
    upcoming = sorted((w for w in windows if w.start and (w.end or w.start) >= now), key=lambda w: w.start)
    ranges: list[list[Any]] = []  # [start, end, methods], local times
    for window in upcoming:
        start = window.start.astimezone(zone)
        end = (window.end or window.start).astimezone(zone)
        methods = tuple(window.showing_methods or ())
        last = ranges[-1] if ranges else None
        if last and last[2] == methods and last[0].date() == start.date() and start <= last[1]:
            last[1] = max(last[1], end)
        else:
            ranges.append([start, end, methods])
    days: list[WindowDay] = []
    more: set[str] = set()
    for start, end, methods in ranges:
        iso = start.date().isoformat()
        if not days or days[-1].iso != iso:
            if len(days) >= DAYS_SHOWN:
                more.add(iso)
                continue
            days.append(WindowDay(start.strftime("%a, %b %-d"), iso, []))
        slot = _clock(start) + (f"-{_clock(end)}" if end > start else "")
        if methods:
            slot += f" ({', '.join(methods)})"
        days[-1].slots.append(slot)
    return days, len(more)


def lockbox_removed(unit: Unit, events: list[LockboxEvent]) -> tuple[datetime | None, str]:
    """When the last box on a unit that has none now came off, and its serial: from the
    installations, else from the newest Uninstall event; (None, "") if the unit never had one."""
    installation = (
        LockboxInstallation.objects.filter(account_id=unit.account_id, unit_id=unit.id, uninstalled_at__isnull=False)
        .only("uninstalled_at", "serial_number")
        .order_by("-uninstalled_at")
        .first()
    )
    if installation:
        return installation.uninstalled_at, installation.serial_number
    for event in events:
        if "uninstall" in (event.event_type or "").casefold():
            return event.created_at, ""
    return None, ""


def availability_windows(availability: UnitAvailability | None, zone: ZoneInfo) -> dict[str, Any] | None:
    """The cached /showings/availability answer, read tolerantly; None when never fetched."""
    if availability is None or availability.fetched_at is None:
        return None
    try:
        record = AvailabilityRecord.model_validate(availability.data or {})
    except ValidationError:
        return {"error": "The cached availability could not be read.", "fetched_at": availability.fetched_at}
    now = timezone.now()
    available, more = _window_days(record.available_windows, zone, now)
    preferred, _ = _window_days(record.preferred_windows, zone, now)
    return {
        "available": available,
        "more": more,
        "preferred": preferred,
        "method": record.showing_method,
        "fetched_at": moment(availability.fetched_at, zone, SHORT_DATETIME),
        "error": availability.error,
    }


UNIT_PAGE_PROSPECTS = 25
UNIT_PAGE_SHOWINGS = 20
UNIT_PAGE_LOCKBOX_EVENTS = 50
SHOWING_FORMAT = "%a, %b %-d · %-I:%M %p"


@require_GET
def unit_detail(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit = _get_unit_for_user(request, unit_id)
    zone = account_zone(unit.account)
    open_families = [f.value for f in vocabulary.OPEN_STATUS_FAMILIES]
    prospects = list(
        with_assignee_ids(
            Prospect.objects.alive()
            .filter(account_id=unit.account_id, unit_id=unit.id)
            .only("id", "name", "phone", "status", "status_family", "created_at", "next_follow_up")
        )
        # Open prospects first, newest first within each group.
        .order_by(Case(When(status_family__in=open_families, then=0), default=1), "-created_at", "-id")[:UNIT_PAGE_PROSPECTS]
    )
    now = timezone.now()
    showings = list(
        Showing.objects.alive()
        .filter(account_id=unit.account_id, unit_id=unit.id)
        .defer("raw")
        .order_by("-planned_at", "-id")[:UNIT_PAGE_SHOWINGS]
    )
    # Every read is kept to the unit's account: a lockbox moved in from another account brings none of its history.
    lockbox = (
        Lockbox.objects.alive()
        .filter(account_id=unit.account_id, current_unit_id=unit.id)
        .defer("raw")
        .order_by("-installed_at")
        .first()
    )
    events = list(
        LockboxEvent.objects.alive()
        .filter(account_id=unit.account_id, unit_id=unit.id)
        .defer("raw")
        .order_by("-created_at", "-id")[:UNIT_PAGE_LOCKBOX_EVENTS]
    )
    removed_at, removed_serial = (None, "") if lockbox else lockbox_removed(unit, events)
    availability: UnitAvailability | None = getattr(unit, "availability", None)
    user_ids = {u for p in prospects for u in assignee_user_ids(p)} | lockbox_event_user_ids(events)
    names = people_names(user_ids, account_id=unit.account_id)
    prospect_rows = [
        UnitProspectRow(
            id=p.id,
            url=link("prospect", p.id),
            name=p.name,
            phone=p.phone,
            pill=pills.prospect_status_pill(p.status, p.status_family),
            assignee_names=tuple(person_name(names, u) for u in assignee_user_ids(p)),
            created=moment(p.created_at, zone),
        )
        for p in prospects
    ]
    showing_items = [showing_item(s, zone, with_prospect=True, label_format=SHOWING_FORMAT) for s in showings]
    lockbox_items = [lockbox_event_item(e, names, zone, links=[("Lockbox", link("lockbox", e.lockbox_id))]) for e in events]
    context = {
        "title": unit.address or f"Unit {unit.id}",
        "unit": unit,
        "account": unit.account,
        "pill": pills.unit_status_pill(unit.status),
        "prospects": prospect_rows,
        "prospects_more": len(prospects) == UNIT_PAGE_PROSPECTS,
        "upcoming": [item for item in showing_items if item.at >= now][::-1],
        "past": [item for item in showing_items if item.at < now],
        "lockbox": lockbox,
        "lockbox_pill": pills.lockbox_state_pill(lockbox.current_unit_id, lockbox.last_event_at, now) if lockbox else None,
        "lockbox_days": by_day(lockbox_items, zone),
        "lockbox_removed_at": removed_at,
        "lockbox_removed_serial": removed_serial,
        "lockbox_events_more": len(events) == UNIT_PAGE_LOCKBOX_EVENTS,
        "availability": availability_windows(availability, zone),
        "fees": unit.fees or [],
        "photos": web_urls(unit.photos or [])[:12],
        "reference": unit_reference(unit),
    }
    return render_zoned(request, "units/detail.html", context, zone)


def web_urls(values: list[Any]) -> list[str]:
    """Only http(s) addresses become links or images: a `javascript:` or `data:` URL in RentEngine's data must not."""
    return [v for v in values if isinstance(v, str) and urlsplit(v.strip()).scheme.lower() in ("http", "https")]
