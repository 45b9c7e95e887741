"""Showings: an agenda by day or week, today first. Each item is a reporting showing with the
showing-related leasing events that belong to it (scheduled, confirmed, arrived, complete...); events
whose showing the reporting sync has not brought yet stand as their own items."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboard.display import charts, pills
from dashboard.display.pills import Pill
from dashboard.display.timeline import by_day, link
from dashboard.lists.list_page import Params, day_start, list_template, query_without
from dashboard.lists.paging import Page, Sort, cursor_decode, keyset_page
from dashboard.people.access import account_zone, my_user_id, request_account
from dashboard.people.names import people_names
from dashboard.views.frame import no_account, render_zoned
from integrations.rentengine import vocabulary
from integrations.rentengine.models import Account, LeasingEvent, Prospect, Showing

VIEWS = {"day": "Day", "week": "Week"}
AGENDA_SORT = Sort("planned_at", False, "Time")
AGENDA_PAGE = 100
MAX_EVENTS = 1000
# What an agenda item shows: a page holds 100 showings, so the other columns stay unread.
AGENDA_SHOWING_FIELDS = (
    "id",
    "account_id",
    "prospect_id",
    "unit_id",
    "property_address",
    "prospect_name",
    "status",
    "agent_name",
    "cancellation_reason",
    "planned_at",
)


@dataclass
class AgendaItem:
    """What the agenda template shows per showing (it also serves `by_day`, which reads `at`)."""

    key: str
    at: datetime
    pill: Pill
    title: str
    prospect_id: int | None
    prospect_name: str
    unit_id: int | None
    agent: str
    detail: str = ""
    events: list[AgendaEvent] = field(default_factory=list)
    from_events_only: bool = False
    # What `by_day` fills in for every timeline-like item.
    when: pills.Moment | None = None
    planned: datetime | None = None
    planned_when: pills.Moment | None = None
    children: list[Any] = field(default_factory=list)

    @property
    def prospect_url(self) -> str:
        return link("prospect", self.prospect_id) if self.prospect_id else ""

    @property
    def unit_url(self) -> str:
        return link("unit", self.unit_id) if self.unit_id else ""


class AgendaEvent:
    """A showing-related leasing event as the agenda shows it (a plain row, not a model)."""

    FIELDS = ("id", "prospect_id", "event_type", "planned_at", "created_at", "source", "unit_id_of_interest", "property_address")
    __slots__ = (*FIELDS, "when")

    def __init__(
        self,
        id: int,
        prospect_id: int,
        event_type: str,
        planned_at: datetime | None,
        created_at: datetime | None,
        source: str,
        unit_id_of_interest: int | None,
        property_address: str,
    ) -> None:
        self.id = id
        self.prospect_id = prospect_id
        self.event_type = event_type
        self.planned_at = planned_at
        self.created_at = created_at
        self.source = source
        self.unit_id_of_interest = unit_id_of_interest
        self.property_address = property_address
        self.when: pills.Moment | None = None


def _my_agent_names(request: HttpRequest) -> list[str]:
    names = [request.user.get_full_name()] if request.user.is_authenticated else []
    me = my_user_id(request)
    if me:
        names += people_names([me]).values()
    return [n for n in names if n]


def agenda_filters(request: HttpRequest, account: Account) -> tuple[QuerySet[Showing], dict[str, Any]]:
    """The showings matching the agenda's filters at any date (the range is the caller's), and the
    filter values: one definition for the agenda, its chart and its CSV export."""
    zone = account_zone(account)
    params = Params(request.GET)
    today = timezone.now().astimezone(zone).date()
    f: dict[str, Any] = {
        "view": params.choice("view", VIEWS, "day"),
        "date": params.day("date") or today,
        "agent": params.text("agent"),
        "unit": params.integer("unit"),
        "status": params.choice("status", pills.SHOWING_STATUSES),
        "today": today,
    }
    f["days"] = 1 if f["view"] == "day" else 7
    f["start"], f["end"] = day_start(f["date"], zone), day_start(f["date"] + timedelta(days=f["days"]), zone)
    qs = Showing.objects.alive().filter(account=account)
    if f["agent"] == "mine":
        f["mine"] = _my_agent_names(request)
        qs = qs.filter(agent_name__in=f["mine"]) if f["mine"] else qs.none()
    elif f["agent"]:
        qs = qs.filter(agent_name=f["agent"])
    if f["unit"] is not None:
        qs = qs.filter(unit_id=f["unit"])
    if f["status"]:
        qs = qs.filter(status=f["status"])
    return qs, f


def agenda_page(
    account: Account, showings: QuerySet[Showing], f: dict[str, Any], cursor: str | None
) -> tuple[Page[Showing], list[AgendaItem]]:
    """One page of the agenda in the filters' date range: its showings and the items they make."""
    qs = showings.filter(planned_at__gte=f["start"], planned_at__lt=f["end"])
    # The date range leaves out showings without a time: no query for NULLs.
    page = keyset_page(qs.only(*AGENDA_SHOWING_FIELDS), AGENDA_SORT, cursor=cursor, size=AGENDA_PAGE, with_nulls=False)
    # The time span this page covers, so the events fetched are exactly this page's.
    position = cursor_decode(Showing, AGENDA_SORT, cursor)
    span_start = position[1] if position and position[0] == "v" else f["start"]
    span_end = (page.rows[-1].planned_at if page.has_next and page.rows else None) or f["end"]
    items = _agenda_items(account.id, page.rows, f, span_start, span_end, first=position is None, last=not page.has_next)
    return page, items


@require_GET
def showing_agenda(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        return no_account(request, "Showings")
    zone = account_zone(account)
    qs, f = agenda_filters(request, account)
    in_range = Showing.objects.alive().filter(account=account, planned_at__gte=f["start"], planned_at__lt=f["end"])
    agent_options = sorted({n for n in in_range.exclude(agent_name="").values_list("agent_name", flat=True).distinct()[:200]})
    template = list_template(request, "showings/agenda.html")
    page, items = agenda_page(account, qs, f, request.GET.get("after"))
    for item in items:
        for event in item.events:
            event.when = pills.moment(event.created_at, zone, pills.SHORT_DATETIME)
    days = f["days"]
    context: dict[str, Any] = {
        "title": "Showings",
        "account": account,
        "page": page,
        "days": by_day(items, zone),  # type: ignore[arg-type]
        "f": f,
        "today": f["today"],
        "views": VIEWS,
        "statuses": pills.SHOWING_STATUSES,
        "agent_options": agent_options,
        "range_label": _range_label(f["date"], days),
        "prev_date": f["date"] - timedelta(days=days),
        "next_date": f["date"] + timedelta(days=days),
        "query": query_without(request.GET, "after"),
        "nav_query": query_without(request.GET, "after", "date"),
    }
    return render_zoned(request, template, context, zone)


@require_GET
def showing_chart(request: HttpRequest) -> HttpResponse:
    """Showings per day under the agenda's filters: loaded by the agenda right after it shows (it
    keeps the agenda itself within its query budget), or opened as a link without JavaScript."""
    account = request_account(request)
    if account is None:
        return no_account(request, "Showings")
    qs, f = agenda_filters(request, account)
    context = {"title": "Showings per day", "account": account, "chart": showings_chart(request, account, qs, f), "f": f}
    template = "showings/chart.html#chart" if getattr(request, "htmx", None) else "showings/chart.html"
    return render_zoned(request, template, context, account_zone(account))


def showings_chart(request: HttpRequest, account: Account, showings: QuerySet[Showing], f: dict[str, Any]) -> charts.ColumnChart:
    """Showings per day around the agenda's date, under the same filters; a column opens that day."""
    base = reverse("showings")
    nav_query = query_without(request.GET, "after", "date", "view")
    filters_key = f"{f['agent']}|{f.get('mine')}|{f['unit']}|{f['status']}"
    return charts.showings_per_day_chart(
        account,
        showings,
        around=f["date"],
        zone=account_zone(account),
        filters_key=filters_key,
        url_for=lambda day: f"{base}?{nav_query + '&' if nav_query else ''}view=day&date={day.isoformat()}",
    )


def _range_label(first: date, days: int) -> str:
    if days == 1:
        return f"{first:%A} {first.day} {first:%B %Y}"
    last = first + timedelta(days=days - 1)
    return f"{first.day} {first:%b} to {last.day} {last:%b %Y}"


def _agenda_items(
    account_id: Any,
    showings: list[Showing],
    f: dict[str, Any],
    span_start: datetime,
    span_end: datetime,
    *,
    first: bool,
    last: bool,
) -> list[AgendaItem]:
    events = LeasingEvent.objects.alive().filter(
        account_id=account_id, event_type__in=vocabulary.SHOWING_EVENT_TYPES, planned_at__gte=span_start
    )
    events = events.filter(planned_at__lt=span_end) if last else events.filter(planned_at__lte=span_end)
    if f["agent"]:
        # Event-only showings carry no agent, so with an agent filter the events matter only for
        # the showings on this page: read theirs, not the whole span's (hundreds on a busy day).
        events = events.filter(prospect_id__in={s.prospect_id for s in showings if s.prospect_id})
    elif f["unit"] is not None:
        events = events.filter(
            Q(unit_id_of_interest=f["unit"]) | Q(prospect_id__in=[s.prospect_id for s in showings if s.prospect_id])
        )
    by_showing: dict[tuple[int, datetime], list[AgendaEvent]] = {}
    if not f["agent"] or any(s.prospect_id for s in showings):
        # Plain rows, not models: a day's span holds hundreds of events and only a few fields show.
        for row in events.values_list(*AgendaEvent.FIELDS).order_by("planned_at", "created_at", "id")[:MAX_EVENTS]:
            event = AgendaEvent(*row)
            assert event.planned_at is not None
            by_showing.setdefault((event.prospect_id, event.planned_at), []).append(event)
    items = []
    for s in showings:
        assert s.planned_at is not None
        items.append(
            AgendaItem(
                key=f"showing-{s.id}",
                at=s.planned_at,
                pill=pills.showing_status_pill(s.status),
                title=s.property_address or "Showing",
                prospect_id=s.prospect_id,
                prospect_name=s.prospect_name,
                unit_id=s.unit_id,
                agent=s.agent_name or "Self-guided",
                detail=s.cancellation_reason,
                events=by_showing.pop((s.prospect_id or 0, s.planned_at), []),
            )
        )
    if not f["agent"]:  # event-only showings carry no agent, so an agent filter leaves them out
        for (prospect_id, planned), group in by_showing.items():
            if not first and planned <= span_start:
                continue  # shown on the previous page
            status = pills.SHOWING_EVENT_STATUS.get(group[-1].event_type, "")
            if f["status"] and status != f["status"]:
                continue
            items.append(
                AgendaItem(
                    key=f"event-showing-{group[-1].id}",
                    at=planned,
                    pill=pills.showing_status_pill(status),
                    title=group[-1].property_address or "Showing",
                    prospect_id=prospect_id,
                    prospect_name="",
                    unit_id=group[-1].unit_id_of_interest,
                    agent="",
                    events=group,
                    from_events_only=True,
                )
            )
    orphans = {item.prospect_id for item in items if item.from_events_only and item.prospect_id}
    if orphans:
        names = dict(Prospect.objects.filter(id__in=orphans).values_list("id", "name"))
        for item in items:
            if item.from_events_only and item.prospect_id:
                item.prospect_name = names.get(item.prospect_id, "")
    items.sort(key=lambda item: (item.at, item.key))
    return items
