"""Showings: an agenda by day or week, today first, and its per-day chart."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from dashboard.display import charts, pills
from dashboard.display.agenda_rows import agenda_by_day
from dashboard.display.links import list_link
from dashboard.lists.filters import AgendaFilter
from dashboard.lists.list_page import list_page, query_without
from dashboard.lists.showing_agenda import AGENDA_PAGE, agenda_items, agenda_showings
from dashboard.people.access import account_zone, request_account
from dashboard.views.frame import no_account, render_zoned
from integrations.rentengine.models import Account, Showing


@require_GET
def showing_agenda(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        return no_account(request, "Showings")
    zone = account_zone(account)
    filters = AgendaFilter(request.GET, account=account, request=request)
    in_range = Showing.objects.alive().filter(account=account, planned_at__gte=filters.start, planned_at__lt=filters.end)
    agent_options = sorted({n for n in in_range.exclude(agent_name="").values_list("agent_name", flat=True).distinct()[:200]})
    listed = list_page(
        request,
        account,
        filters,
        agenda_showings(filters),
        "showings/agenda.html",
        title="Showings",
        size=AGENDA_PAGE,
        count_cap=None,
        with_nulls=False,
    )
    day, days = filters.day, filters.days
    context: dict[str, Any] = listed.context | {
        "days": agenda_by_day(agenda_items(filters, listed.page), zone),
        "day": day,
        "today": filters.today,
        "views": AgendaFilter.VIEWS,
        "statuses": pills.SHOWING_STATUSES,
        "agent_options": agent_options,
        "range_label": _range_label(day, days),
        "prev_date": day - timedelta(days=days),
        "next_date": day + timedelta(days=days),
        "nav_query": query_without(request.GET, "after", "date"),
    }
    return render_zoned(request, listed.template, context, zone)


@require_GET
def showing_chart(request: HttpRequest) -> HttpResponse:
    """Showings per day under the agenda's filters: loaded by the agenda right after it shows (it
    keeps the agenda itself within its query budget), or opened as a link without JavaScript."""
    account = request_account(request)
    if account is None:
        return no_account(request, "Showings")
    filters = AgendaFilter(request.GET, account=account, request=request)
    context = {"title": "Showings per day", "account": account, "chart": showings_chart(request, account, filters)}
    template = "showings/chart.html#chart" if getattr(request, "htmx", None) else "showings/chart.html"
    return render_zoned(request, template, context, account_zone(account))


def showings_chart(request: HttpRequest, account: Account, filters: AgendaFilter) -> charts.ColumnChart:
    """Showings per day around the agenda's date, under the same filters; a column opens that day."""
    base = list_link("showings")
    nav_query = query_without(request.GET, "after", "date", "view")
    f = filters.values
    mine = filters.my_agent_names if f["agent"] == "mine" else None
    filters_key = f"{f['agent']}|{mine}|{f['unit']}|{f['status']}"
    return charts.showings_per_day_chart(
        account,
        filters.qs,
        around=filters.day,
        zone=account_zone(account),
        filters_key=filters_key,
        url_for=lambda day: f"{base}?{nav_query + '&' if nav_query else ''}view=day&date={day.isoformat()}",
    )


def _range_label(first: date, days: int) -> str:
    if days == 1:
        return f"{first:%A} {first.day} {first:%B %Y}"
    last = first + timedelta(days=days - 1)
    return f"{first.day} {first:%b} to {last.day} {last:%b %Y}"
