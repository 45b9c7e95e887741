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


def banners(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `ops_banners` for base.html."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"ops_banners": banners_current()}
