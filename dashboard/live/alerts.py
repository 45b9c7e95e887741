"""A distinct alert when a lockbox code is generated for a unit with no showing that day (PRODUCT
4.3): someone may be about to open a home nobody expects a visit at. Pages ask with the cursor of
their last ask (the mirror's own `synced_at`, read back with an overlap)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F, Q

from dashboard.display.moments import SHORT_DATETIME, Moment, moment
from dashboard.people.access import account_zone, day_end, day_start
from integrations.rentengine import vocabulary
from integrations.rentengine.models import Account, LeasingEvent, LockboxEvent, Showing

# News, not history: a code generated within RECENT, that reached the mirror within FRESH of being
# generated (a webhook takes seconds, an incremental sync a minute or two; a backfill of older
# codes, or the first sync of a new install, raises nothing).
RECENT = timedelta(hours=2)
FRESH = timedelta(minutes=10)
OVERLAP = timedelta(seconds=30)
MAX_ALERTS = 10
ALERT_FIELDS = ("id", "account_id", "lockbox__id", "lockbox__serial_number", "unit__id", "unit__address", "unit_id",
                "created_for", "metadata", "created_at")  # fmt: skip
# Showing events that mean someone is expected at the unit that day.
EXPECTED = vocabulary.SHOWING_EVENT_TYPES - {"Showing Canceled", "Showing Desired"}


@dataclass(frozen=True)
class CodeAlert:
    id: str
    account: str
    lockbox_id: str
    serial: str
    unit_id: int
    unit_address: str
    created_for: str
    day: date
    day_label: str  # "today", or "on Tue, Nov 3"
    when: Moment | None


def cursor_next(now: datetime) -> datetime:
    return now - OVERLAP


def code_alerts(accounts: list[Account], *, since: datetime, now: datetime, keep: list[str] | None = None) -> list[CodeAlert]:
    """Codes generated recently for a unit with no showing on the code's day, first seen by the
    mirror after `since` (plus the ones in `keep`: alerts a page still shows after a navigation)."""
    if not accounts:
        return []
    zones = {a.id: account_zone(a) for a in accounts}
    names = {a.id: str(a) for a in accounts}
    seen = Q(synced_at__gt=since)
    if keep:
        seen |= Q(pk__in=keep)
    events = (
        LockboxEvent.objects.alive()
        .filter(seen, account__in=accounts, event_type=vocabulary.LockboxEventType.GENERATE_CODE, created_at__gte=now - RECENT)
        .filter(synced_at__lte=F("created_at") + FRESH)
        .exclude(unit_id=None)
        .select_related("lockbox", "unit")
        .only(*ALERT_FIELDS)
        .order_by("-created_at")[:MAX_ALERTS]
    )
    alerts = []
    for event in events:
        assert event.unit_id is not None
        assert event.account_id is not None
        zone = zones[event.account_id]
        day = _code_day(event, zone)
        if unit_expects_visit(event.unit_id, day, zone):
            continue
        alerts.append(
            CodeAlert(
                id=str(event.id),
                account=names[event.account_id],
                lockbox_id=str(event.lockbox_id),
                serial=event.lockbox.serial_number if event.lockbox else "",
                unit_id=event.unit_id,
                unit_address=event.unit.address if event.unit else "",
                created_for=event.created_for,
                day=day,
                day_label="today" if day == now.astimezone(zone).date() else f"on {day:%a, %b} {day.day}",
                when=moment(event.created_at, zone, SHORT_DATETIME),
            )
        )
    return alerts


def _code_day(event: LockboxEvent, zone: ZoneInfo) -> date:
    """The day the code is for: its `valid_date` when RentEngine gives one, else the day it was made."""
    valid: Any = (event.metadata or {}).get("valid_date") if isinstance(event.metadata, dict) else None
    if isinstance(valid, str):
        try:
            return date.fromisoformat(valid[:10])
        except ValueError:
            pass
    return event.created_at.astimezone(zone).date()


def unit_expects_visit(unit_id: int, day: date, zone: ZoneInfo) -> bool:
    """A showing of the unit that day (not canceled), from the showings report or from the leasing
    events that stand in for it until the report lists it."""
    start, end = day_start(day, zone), day_end(day, zone)
    showings = Showing.objects.alive().filter(unit_id=unit_id, planned_at__gte=start, planned_at__lt=end)
    if showings.exclude(status=vocabulary.ShowingStatus.CANCELED).exists():
        return True
    events = LeasingEvent.objects.alive().filter(
        Q(unit_id_of_interest=unit_id) | Q(prospect__unit_id=unit_id),
        event_type__in=EXPECTED,
        planned_at__gte=start,
        planned_at__lt=end,
    )
    return events.exists()
