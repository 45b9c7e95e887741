"""Charts drawn on the server as SVG, every bar a link to the list it counts: what to count (one
grouped query each) and the geometry; templates/charts/ draws it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote_plus, urlencode
from zoneinfo import ZoneInfo

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from dashboard.cached_counts import counted
from dashboard.display import pills
from dashboard.people.access import day_end, day_start
from integrations.rentengine.models import Account, LockboxEvent, Prospect, Showing
from integrations.rentengine.vocabulary import StatusFamily

# --- the funnel -----------------------------------------------------------------------------------

FUNNEL_STAGES = (StatusFamily.NEW, StatusFamily.WORKING, StatusFamily.SHOWING, StatusFamily.APPLICATION, StatusFamily.WON)
FUNNEL_ASIDE = (StatusFamily.LOST, StatusFamily.UNKNOWN)  # not stages: drawn after a gap
FUNNEL_WIDTH = 640
FUNNEL_LABEL = 110
FUNNEL_ROW = 30
FUNNEL_BAR = 20
FUNNEL_GAP = 14
FUNNEL_NUMBER = 96


@dataclass(frozen=True)
class FunnelBar:
    family: str
    label: str
    count: int
    share: int  # percent of all prospects
    url: str
    css: str
    y: int
    width: int

    @property
    def text_y(self) -> int:
        return self.y + FUNNEL_BAR - 5

    @property
    def number_x(self) -> int:
        return FUNNEL_LABEL + self.width + 6


@dataclass(frozen=True)
class Funnel:
    bars: list[FunnelBar]
    total: int
    height: int
    width: int = FUNNEL_WIDTH
    label_width: int = FUNNEL_LABEL


def funnel_counts(account: Account) -> dict[str, int]:
    """{status family: prospects}, counted once per change of the account's prospects."""

    def count() -> dict[str, int]:
        found: dict[str, int] = {}
        rows = Prospect.objects.alive().filter(account=account).values_list("status_family").annotate(n=Count("id"))
        for family, n in rows.order_by():
            key = family if family in StatusFamily._value2member_map_ else StatusFamily.UNKNOWN.value
            found[key] = found.get(key, 0) + n
        return found

    return counted("funnel", scopes=[f"prospects:{account.id}"], compute=count)


def funnel(account: Account) -> Funnel:
    counts = funnel_counts(account)
    total = sum(counts.values())
    biggest = max(counts.values(), default=0) or 1
    base = reverse("prospects")
    bars: list[FunnelBar] = []
    y = 0
    for group in (FUNNEL_STAGES, FUNNEL_ASIDE):
        if bars:
            y += FUNNEL_GAP
        for family in group:
            n = counts.get(family.value, 0)
            if family == StatusFamily.UNKNOWN and not n:
                continue
            pill = pills.family_pill(family.value)
            bars.append(
                FunnelBar(
                    family=family.value,
                    label=pill.label,
                    count=n,
                    share=round(100 * n / total) if total else 0,
                    url=f"{base}?{urlencode({'assignee': 'all', 'family': family.value})}",
                    css=pill.css,
                    y=y,
                    width=max(2, round((FUNNEL_WIDTH - FUNNEL_LABEL - FUNNEL_NUMBER) * n / biggest)) if n else 0,
                )
            )
            y += FUNNEL_ROW
    return Funnel(bars=bars, total=total, height=y)


# --- columns per day ------------------------------------------------------------------------------

CHART_WIDTH = 1000
CHART_HEIGHT = 130
CHART_LEFT = 30  # room for the axis numbers
CHART_BOTTOM = 18  # room for the day labels
CHART_TOP = 6


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    css: str


@dataclass(frozen=True)
class Segment:
    series: Series
    count: int
    y: int
    height: int
    url: str


@dataclass(frozen=True)
class Column:
    day: date
    x: int
    width: int
    label: str  # shown under some columns only ("" for the rest)
    title: str
    total: int = 0
    url: str = ""
    current: bool = False
    segments: tuple[Segment, ...] = ()

    @property
    def center(self) -> int:
        return self.x + self.width // 2

    @property
    def day_iso(self) -> str:
        return self.day.isoformat()


@dataclass(frozen=True)
class ColumnChart:
    columns: list[Column]
    series: list[Series]
    peak: int
    total: int
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    left: int = CHART_LEFT
    top: int = CHART_TOP
    bottom: int = CHART_HEIGHT - CHART_BOTTOM

    @property
    def axis_y(self) -> int:
        return self.bottom

    @property
    def label_y(self) -> int:
        return self.height - 4

    @property
    def peak_y(self) -> int:
        return self.top + 9

    @property
    def axis_text_x(self) -> int:
        return self.left - 4

    @property
    def hit_height(self) -> int:
        return self.axis_y - 6

    @property
    def legend(self) -> bool:
        return len(self.series) > 1


def column_chart(
    days: Sequence[date],
    series: Sequence[Series],
    counts: dict[tuple[str, str], int],
    *,
    url_for: Callable[[date, str | None], str],
    current: date | None = None,
) -> ColumnChart:
    """Stacked columns, one per day, one segment per series; `counts` is {(day iso, series key): n}."""
    totals = {d: sum(counts.get((d.isoformat(), s.key), 0) for s in series) for d in days}
    peak = max(totals.values(), default=0)
    scale = (CHART_HEIGHT - CHART_BOTTOM - CHART_TOP - 12) / peak if peak else 0
    step = (CHART_WIDTH - CHART_LEFT) / max(1, len(days))
    width = max(3, int(step * 0.72))
    every = 1 if len(days) <= 16 else 7 if len(days) > 40 else 5
    columns: list[Column] = []
    for i, day in enumerate(days):
        segments = []
        y = float(CHART_HEIGHT - CHART_BOTTOM)
        for s in series:
            n = counts.get((day.isoformat(), s.key), 0)
            if not n:
                continue
            height = max(1.0, n * scale)
            y -= height
            segments.append(Segment(s, n, round(y), max(1, round(height)), url_for(day, s.key)))
        columns.append(
            Column(
                day=day,
                x=int(CHART_LEFT + i * step + (step - width) / 2),
                width=width,
                label=f"{day:%b} {day.day}" if i % every == 0 or day == current else "",
                title=f"{day:%a, %b} {day.day}",
                total=totals[day],
                url=url_for(day, None),
                current=day == current,
                segments=tuple(segments),
            )
        )
    return ColumnChart(columns=columns, series=list(series), peak=peak, total=sum(totals.values()))


def days_from(first: date, n: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(n)]


def _per_day(rows: Any) -> dict[tuple[str, str], int]:
    return {(day.isoformat(), str(key)): n for day, key, n in rows if day is not None}


# --- lockbox activity -----------------------------------------------------------------------------

LOCKBOX_DAYS = 30


def lockbox_activity_chart(account: Account, *, today: date, zone: ZoneInfo) -> ColumnChart:
    """Lockbox events per day by type over the last 30 days (counted now: `lockbox_activity_svg`
    keeps the drawing); each part opens the activity feed on that day and type."""
    days = days_from(today - timedelta(days=LOCKBOX_DAYS - 1), LOCKBOX_DAYS)
    counts = _per_day(
        LockboxEvent.objects.alive()
        .filter(account=account, created_at__gte=day_start(days[0], zone), created_at__lt=day_end(days[-1], zone))
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values_list("day", "event_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    series = [Series(t, t, pills.lockbox_event_pill(t).css) for t in pills.LOCKBOX_EVENT_TYPES] + [
        Series(t, t, "fam-unknown") for t in sorted({k for _, k in counts} - set(pills.LOCKBOX_EVENT_TYPES))
    ]
    base = reverse("lockbox_activity")

    def url_for(day: date, key: str | None) -> str:
        # What urlencode() writes for these three keys, without its per-call overhead (~120 links).
        iso = day.isoformat()
        kind = f"&type={quote_plus(key)}" if key and key in pills.LOCKBOX_EVENT_TYPES else ""
        return f"{base}?since={iso}&until={iso}{kind}"

    return column_chart(days, series, counts, url_for=url_for, current=today)


LOCKBOX_CHART_ID = "lockbox-activity-chart"
LOCKBOX_CHART_TITLE = "Lockbox events per day, last 30 days"


def lockbox_activity_svg(account: Account, *, today: date, zone: ZoneInfo) -> SafeString:
    """`lockbox_activity_chart` drawn (templates/charts/columns.html), kept until the account's
    lockboxes change: the drawing (~150 links) is what costs, on every lockbox list page."""

    def draw() -> str:
        chart = lockbox_activity_chart(account, today=today, zone=zone)
        context = {"chart": chart, "chart_id": LOCKBOX_CHART_ID, "chart_title": LOCKBOX_CHART_TITLE}
        return render_to_string("charts/columns.html", context)

    drawn = counted("lockbox-days-svg", scopes=[f"lockboxes:{account.id}"], compute=draw, extra=f"{today}:{zone.key}")
    return mark_safe(drawn)  # noqa: S308 - rendered by the template engine, which escaped it


# --- showings per day -----------------------------------------------------------------------------

SHOWING_DAYS = 14
SHOWING_DAYS_BEFORE = 3


def showings_per_day_chart(
    account: Account,
    showings: QuerySet[Showing],
    *,
    around: date,
    zone: ZoneInfo,
    filters_key: str,
    url_for: Callable[[date], str],
) -> ColumnChart:
    """Showings per day for two weeks around the agenda's date, under the agenda's own filters
    (`showings` is the filtered queryset before the date range; `filters_key` names the filters)."""
    days = days_from(around - timedelta(days=SHOWING_DAYS_BEFORE), SHOWING_DAYS)

    def count() -> dict[tuple[str, str], int]:
        rows = (
            showings.filter(planned_at__gte=day_start(days[0], zone), planned_at__lt=day_end(days[-1], zone))
            .annotate(day=TruncDate("planned_at", tzinfo=zone))
            .values_list("day")
            .annotate(n=Count("id"))
            .order_by()
        )
        return {(day.isoformat(), "showings"): n for day, n in rows if day is not None}

    counts = counted(
        "showing-days", scopes=[f"showings:{account.id}"], compute=count, extra=f"{days[0]}:{zone.key}:{filters_key}"
    )
    series = [Series("showings", "Showings", "info")]
    return column_chart(days, series, counts, url_for=lambda day, _key: url_for(day), current=around)
