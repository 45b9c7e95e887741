"""`{% list_tools "prospects" %}`: the saved-views menu and the CSV export link that every list
shows beside its count. It sits inside the list's `results` part, so when a filter changes and
htmx swaps the results, the menu and the export link come back carrying the new query."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from dashboard.lists.saved_views import LISTS, PLAIN, query_clean, view_menu
from dashboard.people.access import request_account

register = template.Library()


@register.inclusion_tag("saved_views/tools.html", takes_context=True)
def list_tools(context: template.Context, list_name: str) -> dict[str, Any]:
    request = context.get("request")
    account = request_account(request) if request is not None else None
    if request is None or account is None or list_name not in LISTS:
        return {"show": False}
    query = query_clean(request.GET)
    list_url_name, export_url_name = LISTS[list_name]
    menu = view_menu(request, account, list_name, query)
    return {
        "show": True,
        "count": len(menu.mine) + len(menu.team),
        "list_name": list_name,
        "list_base": reverse(list_url_name),
        "export_url": f"{reverse(export_url_name)}?{query}" if query else reverse(export_url_name),
        "query": query,
        "plain": PLAIN,
        "menu": menu,
        "csrf_token": context.get("csrf_token"),
    }
