"""Who is asking and which account they are looking at, read once per request: lists show one account
at a time (the switcher's, kept in the session), object pages any account the person may see, and
times show in the account's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import F
from django.http import HttpRequest

from dashboard.models import TeamMember, accounts_for_user
from integrations.rentengine.models import Account

SESSION_KEY = "account_id"


@dataclass
class _Asker:
    """What this request has read about the person asking (each read once per request)."""

    accounts: list[Account] | None = None
    member: TeamMember | None = None
    member_known: bool = False


def _asker(request: HttpRequest) -> _Asker:
    found: _Asker = request.__dict__.setdefault("_leasing_asker", _Asker())
    return found


def request_accounts(request: HttpRequest) -> list[Account]:
    """The accounts this person may see (one query, remembered on the request).

    For a person who is not a superuser the accounts are read through their team-member row, so
    that row's few fields ride along in the same query and `request_member` needs none of its own
    (every list page asks for both)."""
    asker = _asker(request)
    if asker.accounts is None:
        user = request.user
        queryset = accounts_for_user(user)
        member_too = user.is_authenticated and user.is_active and not user.is_superuser
        if member_too:
            # The same join accounts_for_user filters on (Django reuses it for these columns).
            queryset = queryset.annotate(
                member_pk=F("team_members__pk"),
                member_rentengine_user_id=F("team_members__rentengine_user_id"),
            )
        asker.accounts = list(queryset)
        if member_too and asker.accounts and not asker.member_known:
            first: Any = asker.accounts[0]
            assert user.pk is not None
            asker.member = TeamMember(id=first.member_pk, user_id=user.pk, rentengine_user_id=first.member_rentengine_user_id)
            asker.member_known = True
    return asker.accounts


def request_account(request: HttpRequest) -> Account | None:
    """The account the lists show: the one chosen in the switcher, else the first granted."""
    accounts = request_accounts(request)
    chosen = request.session.get(SESSION_KEY)
    for account in accounts:
        if str(account.id) == chosen:
            return account
    return accounts[0] if accounts else None


def request_member(request: HttpRequest) -> TeamMember | None:
    """The person's team-member row (role, RentEngine user id), or None (e.g. a bare superuser)."""
    asker = _asker(request)
    if not asker.member_known:
        request_accounts(request)  # usually already read (the middleware does); it brings the row along
    if not asker.member_known:
        if request.user.is_authenticated:
            # No default ordering: it joins auth_user for the names, which this lookup doesn't need.
            asker.member = TeamMember.objects.filter(user_id=request.user.pk).order_by("pk").first()
        asker.member_known = True
    return asker.member


def my_user_id(request: HttpRequest) -> str | None:
    """My RentEngine user id, as assignments carry it."""
    member = request_member(request)
    return str(member.rentengine_user_id) if member and member.rentengine_user_id else None


@lru_cache(maxsize=64)
def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def account_zone(account: Account | None) -> ZoneInfo:
    return zone_named(account.time_zone if account else settings.TIME_ZONE)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight at the start of `day` in the account's zone (an aware datetime)."""
    return datetime.combine(day, time.min, tzinfo=zone)


def day_end(day: date, zone: ZoneInfo) -> datetime:
    return day_start(day + timedelta(days=1), zone)


def account_switch_context(request: HttpRequest) -> dict[str, Any]:
    # Callables: templates resolve them only when a page shows the switcher (partials don't).
    return {"switch_accounts": lambda: request_accounts(request), "current_account": lambda: request_account(request)}
