"""Lockbox alerts worth reading (issue 16, item 4): a code made for a unit with no showing planned
within LOCKBOX_ALERT_WINDOW_MINUTES of it, not for someone the team expects (ExpectedRecipient), on a
lockbox nobody muted, told only to the people of its account who work the unit (its subteam) and to
the account's managers. The bell counts those raised since its panel was last opened; the digest
lists a day's, each tied to the showing and prospect it most likely served.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import F, Q

from dashboard.display.moments import SHORT_DATETIME, Moment, moment
from dashboard.models import AlertsSeen, ExpectedRecipient, LockboxMute, TeamMember, user_is_manager
from dashboard.people.access import account_zone, day_end, day_start
from integrations.rentengine import vocabulary
from integrations.rentengine.models import Account, LeasingEvent, LockboxEvent, OutboxLockboxPost, Showing, Subteam

# News, not history: the bell counts codes that reached the mirror within FRESH of being made (a
# webhook takes seconds, a sync a minute or two; a backfill of older codes raises nothing), made
# within RECENT. The digest lists a whole day, news or not.
RECENT = timedelta(hours=24)
FRESH = timedelta(minutes=10)
OVERLAP = timedelta(seconds=30)
MAX_ALERTS = 30
ALERT_FIELDS = ("id", "account_id", "lockbox__id", "lockbox__serial_number", "unit__id", "unit__address", "unit_id",
                "lockbox_id", "created_for", "metadata", "created_at", "synced_at")  # fmt: skip
# Showing events that mean someone is expected at the unit.
EXPECTED = vocabulary.SHOWING_EVENT_TYPES - {"Showing Canceled", "Showing Desired"}
DESK_REFERENCE_SEPARATOR = " · desk #"


@dataclass(frozen=True)
class CodeAlert:
    id: str
    account: str
    account_id: str
    lockbox_id: str
    serial: str
    unit_id: int
    unit_address: str
    created_for: str
    day: date
    day_label: str  # "today", or "on Tue, Nov 3"
    when: Moment | None
    at: datetime
    can_mute: bool = False
    muted: bool = False


def alert_window() -> timedelta:
    return timedelta(minutes=settings.LOCKBOX_ALERT_WINDOW_MINUTES)


def cursor_next(now: datetime) -> datetime:
    return now - OVERLAP


# --- who hears of which unit ----------------------------------------------------------------------


def _units_scope(user: User | AnonymousUser, account: Account) -> Q | None:
    """The units of this account whose codes this person hears of: all for a manager, their
    subteams' for anyone else (None: none at all)."""
    if user_is_manager(user, account):
        return Q()
    member = TeamMember.objects.filter(user_id=user.pk or 0).only("rentengine_user_id").first()
    if member is None or member.rentengine_user_id is None:
        return None
    mine = str(member.rentengine_user_id)
    subteams = [
        s.id
        for s in Subteam.objects.alive().filter(account=account).only("id", "user_ids")
        if mine in {str(u).lower() for u in s.user_ids or []}
    ]
    return Q(unit__subteam_id__in=subteams) if subteams else None


# --- what makes a code expected -------------------------------------------------------------------


def desk_reference_stripped(created_for: str) -> str:
    return created_for.split(DESK_REFERENCE_SEPARATOR)[0]


def expected_names(account_ids: Iterable[Any]) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for account_id, name in ExpectedRecipient.objects.filter(account_id__in=list(account_ids)).values_list("account_id", "name"):
        names.setdefault(str(account_id), []).append(name.strip().lower())
    return names


def is_expected_recipient(created_for: str, names: list[str]) -> bool:
    text = desk_reference_stripped(created_for or "").strip().lower()
    return bool(text) and any(name and name in text for name in names)


def muted_lockboxes(account_ids: Iterable[Any], now: datetime) -> set[tuple[str, str]]:
    rows = LockboxMute.objects.filter(account_id__in=list(account_ids), until__gt=now).values_list("account_id", "lockbox_id")
    return {(str(a), str(b)) for a, b in rows}


def units_visited(events: list[LockboxEvent]) -> set[str]:
    """The events (ids) whose unit has a showing planned within the window of the code: from the
    showings report, or the leasing events that stand in for it until the report lists it; or that
    were asked for from the desk for a showing."""
    if not events:
        return set()
    window = alert_window()
    units = {e.unit_id for e in events if e.unit_id}
    start = min(e.created_at for e in events) - window
    end = max(e.created_at for e in events) + window
    planned: dict[int, list[datetime]] = {}
    showings = (
        Showing.objects.alive()
        .filter(unit_id__in=units, planned_at__gte=start, planned_at__lte=end)
        .exclude(status=vocabulary.ShowingStatus.CANCELED)
        .values_list("unit_id", "planned_at")
    )
    for unit_id, at in showings:
        planned.setdefault(unit_id, []).append(at)
    leasing = LeasingEvent.objects.alive().filter(
        Q(unit_id_of_interest__in=units) | Q(prospect__unit_id__in=units),
        event_type__in=EXPECTED,
        planned_at__gte=start,
        planned_at__lte=end,
    )
    for unit_of_interest, prospect_unit, at in leasing.values_list("unit_id_of_interest", "prospect__unit_id", "planned_at"):
        for unit_id in {unit_of_interest, prospect_unit} & units:
            planned.setdefault(unit_id, []).append(at)
    desk_rows = {e.id: _desk_row_id(e.created_for) for e in events}
    wanted = {r for r in desk_rows.values() if r is not None}
    for_showings = (
        set(OutboxLockboxPost.objects.filter(pk__in=wanted, showing_id__isnull=False).values_list("pk", flat=True))
        if wanted
        else set()
    )
    visited = set()
    for event in events:
        times = planned.get(event.unit_id or 0, [])
        if any(abs(at - event.created_at) <= window for at in times) or desk_rows[event.id] in for_showings:
            visited.add(str(event.id))
    return visited


def _desk_row_id(created_for: str | None) -> int | None:
    """The lockbox outbox row a code asked for from the desk carries ("… · desk #12")."""
    if not created_for or DESK_REFERENCE_SEPARATOR not in created_for:
        return None
    tail = created_for.rsplit(DESK_REFERENCE_SEPARATOR, 1)[1]
    return int(tail) if tail.isdigit() else None


# --- the alerts -----------------------------------------------------------------------------------


def unexpected_codes(
    user: User | AnonymousUser,
    accounts: list[Account],
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    news_only: bool,
    include_muted: bool = False,
    limit: int = MAX_ALERTS,
) -> list[CodeAlert]:
    """Codes made between start and end that this person should hear of, newest first."""
    scopes = Q(pk__in=[])
    managers = set()
    for account in accounts:
        units = _units_scope(user, account)
        if units is not None:
            scopes |= Q(account=account) & units
            if user_is_manager(user, account):
                managers.add(str(account.id))
    if not managers and scopes == Q(pk__in=[]):
        return []
    events_qs = (
        LockboxEvent.objects.alive()
        .filter(scopes, event_type=vocabulary.LockboxEventType.GENERATE_CODE, created_at__gte=start, created_at__lt=end)
        .exclude(unit_id=None)
        .select_related("lockbox", "unit")
        .only(*ALERT_FIELDS)
        .order_by("-created_at", "-id")
    )
    if news_only:
        events_qs = events_qs.filter(synced_at__lte=F("created_at") + FRESH)
    events = list(events_qs[: limit * 4])
    account_ids = {str(e.account_id) for e in events}
    names = expected_names(account_ids)
    muted = muted_lockboxes(account_ids, now)
    candidates = [e for e in events if not is_expected_recipient(e.created_for, names.get(str(e.account_id), []))]
    visited = units_visited(candidates)
    by_id = {str(a.id): a for a in accounts}
    alerts = []
    for event in candidates:
        if str(event.id) in visited:
            continue
        is_muted = (str(event.account_id), str(event.lockbox_id)) in muted
        if is_muted and not include_muted:
            continue
        account = by_id[str(event.account_id)]
        zone = account_zone(account)
        day = event.created_at.astimezone(zone).date()
        alerts.append(
            CodeAlert(
                id=str(event.id),
                account=str(account),
                account_id=str(account.id),
                lockbox_id=str(event.lockbox_id),
                serial=event.lockbox.serial_number if event.lockbox else "",
                unit_id=event.unit_id or 0,
                unit_address=event.unit.address if event.unit else "",
                created_for=desk_reference_stripped(event.created_for or ""),
                day=day,
                day_label="today" if day == now.astimezone(zone).date() else f"on {day:%a, %b} {day.day}",
                when=moment(event.created_at, zone, SHORT_DATETIME),
                at=event.created_at,
                can_mute=str(account.id) in managers,
                muted=is_muted,
            )
        )
        if len(alerts) >= limit:
            break
    return alerts


def bell_alerts(user: User | AnonymousUser, accounts: list[Account], *, now: datetime) -> tuple[list[CodeAlert], int]:
    """The panel's alerts (the last RECENT) and how many arrived since the panel was last opened."""
    alerts = unexpected_codes(user, accounts, start=now - RECENT, end=now + timedelta(minutes=5), now=now, news_only=True)
    seen = AlertsSeen.objects.filter(user_id=user.pk or 0).values_list("seen_at", flat=True).first()
    unseen = sum(1 for a in alerts if seen is None or a.at > seen)
    return alerts, unseen


def alerts_mark_seen(user: User, now: datetime) -> None:
    AlertsSeen.objects.update_or_create(user=user, defaults={"seen_at": now})


def day_codes(user: User | AnonymousUser, account: Account, day: date, *, now: datetime) -> list[CodeAlert]:
    """The digest: a day's unexpected codes on this account (muted boxes included, marked)."""
    zone: ZoneInfo = account_zone(account)
    return unexpected_codes(
        user,
        [account],
        start=day_start(day, zone),
        end=day_end(day, zone),
        now=now,
        news_only=False,
        include_muted=True,
        limit=500,
    )
