"""Units: the list with status pills and filters, and the unit page (facts, fees, photos, showing
method, prospects, showings, cached availability windows, the current lockbox and its timeline)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, When
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from pydantic import ValidationError

from dashboard.display import pills
from dashboard.display.timeline import by_day, lockbox_event_item, lockbox_event_user_ids, showing_item
from dashboard.display.unit_reference import unit_reference, unit_reference_columns
from dashboard.lists.list_page import Params, distinct_values, list_template, query_without
from dashboard.lists.paging import Sort, count_capped, keyset_page
from dashboard.live.row_patches import RowsAsk, live_rows_context, new_count, rows_ask
from dashboard.models import get_for_user_or_404
from dashboard.people.access import account_zone, request_account
from dashboard.people.names import assignee_user_ids, people_names, person_name, with_assignee_ids
from dashboard.views.frame import no_account, render_zoned
from integrations.rentengine import vocabulary
from integrations.rentengine.models import Account, Lockbox, LockboxEvent, Prospect, Showing, Unit, UnitAvailability
from integrations.rentengine.records import AvailabilityRecord

SORTS = {
    "address": Sort("address", False, "Address"),
    "rent_low": Sort("rent", False, "Rent, low to high"),
    "rent_high": Sort("rent", True, "Rent, high to low"),
    "bedrooms": Sort("bedrooms", True, "Most bedrooms"),
    "updated": Sort("source_updated_at", True, "Recently updated"),
}
YES_NO = {"yes": "Yes", "no": "No"}
COUNT_CAP = 1_000
PAGE_SIZE = 50
UNIT_ROW_FIELDS = (
    "id",
    "account_id",
    "status",
    "address",
    "city",
    "state",
    "bedrooms",
    "bathrooms",
    "rent",
    "is_occupied",
    "showing_method",
    "source_updated_at",
)


def lockbox_on_unit() -> Exists:
    return Exists(Lockbox.objects.filter(current_unit_id=OuterRef("pk"), deleted_at__isnull=True))


def unit_search(queryset: QuerySet[Unit], q: str) -> QuerySet[Unit]:
    if q.isdigit():
        return queryset.filter(Q(id=int(q)) | Q(address__icontains=q) | Q(zip_code=q))
    return queryset.filter(address__icontains=q)


def units_filtered(account: Account, params: Params) -> tuple[QuerySet[Unit], dict[str, Any]]:
    f: dict[str, Any] = {
        "q": params.text("q"),
        "status": params.choice("status", pills.UNIT_STATUSES),
        "market": params.choice("market", YES_NO),
        "city": params.text("city"),
        "bedrooms": params.decimal("bedrooms"),
        "rent_min": params.decimal("rent_min"),
        "rent_max": params.decimal("rent_max"),
        "occupied": params.choice("occupied", YES_NO),
        "lockbox": params.choice("lockbox", YES_NO),
        "sort": params.choice("sort", SORTS, "address"),
    }
    qs: QuerySet[Unit] = Unit.objects.alive().filter(account=account)
    if f["q"]:
        qs = unit_search(qs, f["q"])
    if f["status"]:
        qs = qs.filter(status=f["status"])
    if f["market"]:
        on_market = [s.value for s in vocabulary.UNIT_STATUSES_ON_MARKET]
        qs = qs.filter(status__in=on_market) if f["market"] == "yes" else qs.exclude(status__in=on_market)
    if f["city"]:
        qs = qs.filter(city=f["city"])
    if f["bedrooms"] is not None:
        qs = qs.filter(bedrooms__gte=f["bedrooms"])
    if f["rent_min"] is not None:
        qs = qs.filter(rent__gte=f["rent_min"])
    if f["rent_max"] is not None:
        qs = qs.filter(rent__lte=f["rent_max"])
    if f["occupied"]:
        qs = qs.filter(is_occupied=f["occupied"] == "yes")
    if f["lockbox"]:
        qs = qs.filter(lockbox_on_unit() if f["lockbox"] == "yes" else ~lockbox_on_unit())
    f["active"] = sum(1 for k in ("status", "market", "city", "occupied", "lockbox") if f[k]) + sum(
        1 for k in ("bedrooms", "rent_min", "rent_max") if f[k] is not None
    )
    return qs, f


def rows_decorate(account: Account, units: list[Unit]) -> None:
    """Per row: status pill, its lockbox serial, and how many open prospects want it (two queries)."""
    ids = [u.id for u in units]
    boxes = {
        b.current_unit_id: b
        for b in Lockbox.objects.alive()
        .filter(account=account, current_unit_id__in=ids)
        .only("id", "serial_number", "current_unit_id")
    }
    open_families = [f.value for f in vocabulary.OPEN_STATUS_FAMILIES]
    interest = dict(
        Prospect.objects.alive()
        .filter(account=account, unit_id__in=ids, status_family__in=open_families)
        .values_list("unit_id")
        # COUNT(*), not COUNT(id): the (account, unit, family) index of live prospects then answers
        # alone (migration 0009), without a heap row per prospect.
        .annotate(n=Count("*"))
        .order_by()
    )
    for unit in units:
        unit.pill = pills.unit_status_pill(unit.status)  # type: ignore[attr-defined]
        unit.lockbox = boxes.get(unit.id)  # type: ignore[attr-defined]
        unit.open_prospects = interest.get(unit.id, 0)  # type: ignore[attr-defined]


@require_GET
def unit_list(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        return no_account(request, "Units")
    params = Params(request.GET)
    qs, filters = units_filtered(account, params)
    ask = rows_ask(request, Unit)
    if ask is not None:
        return _live_rows(request, account, ask, qs, SORTS[filters["sort"]])
    template = list_template(request, "units/list.html")
    page = keyset_page(qs.only(*UNIT_ROW_FIELDS), SORTS[filters["sort"]], cursor=params.data.get("after"), size=PAGE_SIZE)
    rows_decorate(account, page.rows)
    context: dict[str, Any] = {
        "title": "Units",
        "account": account,
        "page": page,
        "f": filters,
        "query": query_without(request.GET, "after"),
        "unit_base": reverse("units"),
        "lockbox_base": reverse("lockboxes"),
        "prospects_base": reverse("prospects"),
    }
    if not template.endswith("#rows"):
        count = None
        if page.is_first:
            count = len(page.rows) if not page.has_next else None if filters["q"] else count_capped(qs, COUNT_CAP)
        context |= {
            "count": count,
            "count_label": pills.count_label(count, COUNT_CAP) if count is not None else "",
            "statuses": pills.UNIT_STATUSES,
            "cities": distinct_values(Unit, "city", account_id=account.id),
            "sorts": SORTS,
            "yes_no": YES_NO,
        }
    return render_zoned(request, template, context, account_zone(account))


def _live_rows(request: HttpRequest, account: Account, ask: RowsAsk, matching: QuerySet[Unit], sort: Sort) -> HttpResponse:
    """For an open list (live screens): its rows as they are now, deleted ones marked, and how many
    new units match its filter."""
    rows = list(Unit.objects.filter(account=account, pk__in=ask.ids).only(*UNIT_ROW_FIELDS, "deleted_at"))
    rows_decorate(account, rows)
    for unit in rows:
        unit.gone = unit.deleted_at is not None  # type: ignore[attr-defined]
    new = new_count(ask, matching, sort, Unit.objects.filter(account=account))
    context = live_rows_context(request, ask, rows, new) | {
        "unit_base": reverse("units"),
        "lockbox_base": reverse("lockboxes"),
        "prospects_base": reverse("prospects"),
    }
    return render_zoned(request, "units/list.html#live_rows", context, account_zone(account))


def _get_unit_for_user(request: HttpRequest, unit_id: int) -> Unit:
    # The cached availability rides along (a reverse one-to-one), and so do the reference links
    # (subqueries), saving a query each.
    units = Unit.objects.alive().select_related("account", "availability").annotate(**unit_reference_columns())
    return get_for_user_or_404(units, request.user, pk=unit_id)


WINDOWS_SHOWN = 30


@dataclass
class WindowDay:
    label: str
    iso: str
    slots: list[str]


def _window_days(windows: list[Any], zone: ZoneInfo, now: datetime) -> tuple[list[WindowDay], int]:
    """Upcoming windows grouped by local day, formatted once (a unit can offer hundreds)."""
    upcoming = sorted((w for w in windows if w.start and (w.end or w.start) >= now), key=lambda w: w.start)
    days: list[WindowDay] = []
    for window in upcoming[:WINDOWS_SHOWN]:
        start = window.start.astimezone(zone)
        slot = start.strftime("%-I:%M %p") + (window.end.astimezone(zone).strftime("-%-I:%M %p") if window.end else "")
        if window.showing_methods:
            slot += f" ({', '.join(window.showing_methods)})"
        if not days or days[-1].iso != start.date().isoformat():
            days.append(WindowDay(start.strftime("%a, %b %-d"), start.date().isoformat(), []))
        days[-1].slots.append(slot)
    return days, max(0, len(upcoming) - WINDOWS_SHOWN)


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
        "fetched_at": pills.moment(availability.fetched_at, zone, pills.SHORT_DATETIME),
        "error": availability.error,
    }


UNIT_PAGE_PROSPECTS = 25
UNIT_PAGE_SHOWINGS = 20
UNIT_PAGE_LOCKBOX_EVENTS = 50


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
    lockbox = Lockbox.objects.alive().filter(current_unit_id=unit.id).defer("raw").order_by("-installed_at").first()
    events = list(
        LockboxEvent.objects.alive()
        .filter(unit_id=unit.id)
        .defer("raw")
        .order_by("-created_at", "-id")[:UNIT_PAGE_LOCKBOX_EVENTS]
    )
    availability: UnitAvailability | None = getattr(unit, "availability", None)
    user_ids = {u for p in prospects for u in assignee_user_ids(p)} | lockbox_event_user_ids(events)
    names = people_names(user_ids)
    for p in prospects:
        p.created = pills.moment(p.created_at, zone)  # type: ignore[attr-defined]
        p.pill = pills.prospect_status_pill(p.status, p.status_family)  # type: ignore[attr-defined]
        p.assignee_names = [person_name(names, u) for u in assignee_user_ids(p)]  # type: ignore[attr-defined]
    showing_items = [showing_item(s, with_prospect=True) for s in showings]
    for item in showing_items:
        item.when = pills.moment(item.at, zone, "%a, %b %-d · %-I:%M %p")
    context = {
        "title": unit.address or f"Unit {unit.id}",
        "unit": unit,
        "account": unit.account,
        "pill": pills.unit_status_pill(unit.status),
        "prospects": prospects,
        "prospects_more": len(prospects) == UNIT_PAGE_PROSPECTS,
        "upcoming": [item for item in showing_items if item.at >= now][::-1],
        "past": [item for item in showing_items if item.at < now],
        "lockbox": lockbox,
        "lockbox_pill": pills.lockbox_state_pill(lockbox.current_unit_id, lockbox.last_event_at, now) if lockbox else None,
        "lockbox_days": by_day((lockbox_event_item(e, names, with_unit=False) for e in events), zone),
        "lockbox_events_more": len(events) == UNIT_PAGE_LOCKBOX_EVENTS,
        "availability": availability_windows(availability, zone),
        "fees": unit.fees or [],
        "photos": (unit.photos or [])[:12],
        "reference": unit_reference(unit),
    }
    return render_zoned(request, "units/detail.html", context, zone)
