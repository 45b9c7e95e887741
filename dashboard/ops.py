"""Operator state shown outside /sync/: the banners on every page when RentEngine can't be reached
as it should (token rejected, a 429 cooldown, syncs that keep failing)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from integrations.rentengine import limiter, sync

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Banner:
    level: str  # "error" or "warn"
    text: str
    action: str = ""


def banners_current() -> list[Banner]:
    """What to warn about, from the sync's cached health and the limiter: no database query, as
    every page shows these."""
    banners: list[Banner] = []
    if not settings.RENTENGINE_API_TOKEN:
        banners.append(
            Banner("error", "No RentEngine API token is configured, so nothing syncs.", "Set RENTENGINE_API_TOKEN and restart.")
        )
    health = sync.sync_health()
    if health.get("token_rejected"):
        banners.append(
            Banner("error", "RentEngine rejected the API token: the mirror is not being updated.",
                   "Check RENTENGINE_API_TOKEN (a revoked token needs a new one from RentEngine's developer portal).")
        )  # fmt: skip
    try:
        state = limiter.limiter_state()
    except Exception as exc:  # the banner must never break a page
        logger.warning("limiter state unavailable: %s", exc)
    else:
        if state.cooldown_remaining > 0:
            banners.append(
                Banner("warn", f"RentEngine asked us to slow down (429): requests pause for {state.cooldown_remaining:.0f} s.",
                       "Nothing to do; syncs and assignments resume on their own.")
            )  # fmt: skip
        elif state.reduction_reason:
            banners.append(Banner("warn", f"Requests to RentEngine are {state.reduction_reason}."))
    if health.get("failing"):
        banners.append(
            Banner("warn", f"Sync keeps failing for {', '.join(health['failing'])}: some screens may be out of date.",
                   "See the Sync page for the error.")
        )  # fmt: skip
    return banners


# --- first syncs ------------------------------------------------------------------------------------

# The resources each screen is built on (by URL name): while one of them has not finished its first
# sync, the screen says so and its counts are provisional.
SCREEN_RESOURCES: dict[str, tuple[str, ...]] = {
    "today": ("showings", "prospects", "leasing_events", "lockbox_events"),
    "prospects": ("prospects", "leasing_events"),
    "prospect": ("prospects", "leasing_events", "showings", "lockbox_events"),
    "units": ("units", "lockboxes", "lockbox_installations"),
    "unit": ("units", "prospects", "lockboxes", "lockbox_installations"),
    "showings": ("showings", "leasing_events"),
    "showing_chart": ("showings", "leasing_events"),
    "lockboxes": ("lockboxes", "lockbox_events", "lockbox_installations"),
    "lockbox": ("lockboxes", "lockbox_events", "lockbox_installations"),
    "lockbox_activity": ("lockbox_events",),
    "team": ("prospects", "leasing_events", "showings", "subteams"),
    "search": ("prospects", "units", "lockboxes"),
    "reference_properties": ("multifamily_properties", "floorplans"),
    "reference_property": ("multifamily_properties", "floorplans"),
    "reference_templates": ("prescreening_templates",),
    "reference_template": ("prescreening_templates",),
}


# What reads wrong until a resource has arrived: said next to its banner line.
PARTIAL_NOTES: dict[str, str] = {
    "prospects": "Newest-first and date sorts show only the prospects read so far.",
    "leasing_events": "Statuses, assignees and follow-ups fill in as leasing events arrive.",
    "lockbox_events": 'Last-event times and "quiet" boxes fill in as lockbox events arrive.',
    "showings": "Showings today and per-person counts fill in as showings arrive.",
}


@dataclass(frozen=True)
class SyncBanner:
    resource: str
    text: str
    note: str = ""


def first_sync_banners(screen: str | None) -> list[SyncBanner]:
    """One line per resource of this screen whose first sync has not finished (no database query):
    "Syncing prospects: 4,200 of about 10,000", or "4,200 so far" when nothing says how many there are."""
    wanted = SCREEN_RESOURCES.get(screen or "", ())
    if not wanted:
        return []
    pending = sync.first_sync_progress()
    found = []
    for name in wanted:
        info = pending.get(name)
        if not info:
            continue
        label = str(info.get("label") or name).lower()
        seen, total = int(info.get("seen") or 0), info.get("total")
        if not info.get("running"):
            text = f"Waiting to sync {label} for the first time."
        elif total:
            text = f"Syncing {label}: {seen:,} of about {int(total):,}"
        else:
            text = f"Syncing {label}: {seen:,} so far"
        found.append(SyncBanner(name, text, PARTIAL_NOTES.get(name, "")))
    return found


def screen_of(request: HttpRequest) -> str | None:
    match = getattr(request, "resolver_match", None)
    return match.url_name if match else None


def banners(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `ops_banners` for base.html, and the first-sync lines of this screen
    (`sync_banners`; `provisional`: its counts and workloads are not final yet)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    screen = screen_of(request)
    first = first_sync_banners(screen)
    return {"ops_banners": banners_current(), "sync_banners": first, "provisional": bool(first), "sync_screen": screen}
