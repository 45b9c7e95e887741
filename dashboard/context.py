"""Template context shared by every page: navigation and the signed-in person's accounts."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from dashboard.display.links import list_link
from dashboard.people.access import account_switch_context

NAVIGATION = [
    ("today", "My day"),
    ("prospects", "Prospects"),
    ("units", "Units"),
    ("showings", "Showings"),
    ("lockboxes", "Lockboxes"),
    ("assignments", "Assignments"),
    ("team", "Team"),
    ("sync", "Sync"),
]


def shell(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    current = request.resolver_match.url_name if request.resolver_match else None
    return {
        **account_switch_context(request),
        "global_q": request.GET.get("q", "") if current == "search" else "",
        "nav_items": [
            {
                "name": name,
                "label": label,
                "url": list_link(name),
                "active": current == name or request.path.startswith(list_link(name)),
            }
            for name, label in NAVIGATION
        ],
    }
