"""Saved views: a list's query string under a name, the person's own or shared with the account, one
of their own the default their list opens with (`?plain=1` opens it without)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse

from dashboard.models import SavedView
from dashboard.people.access import request_account
from integrations.rentengine.models import Account

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# list name -> (URL name of the list, URL name of its CSV export)
LISTS: dict[str, tuple[str, str]] = {
    SavedView.List.PROSPECTS: ("prospects", "prospects_csv"),
    SavedView.List.UNITS: ("units", "units_csv"),
    SavedView.List.SHOWINGS: ("showings", "showings_csv"),
    SavedView.List.LOCKBOXES: ("lockboxes", "lockboxes_csv"),
    SavedView.List.LOCKBOX_ACTIVITY: ("lockbox_activity", "lockbox_activity_csv"),
}
PLAIN = "plain"  # ?plain=1: the list without the default view
NOT_SAVED = ("after", PLAIN)  # a page cursor is a position, not a filter
NAME_MAX = 80
QUERY_MAX = 1000


class ViewRefused(Exception):
    pass


def query_clean(query: str | QueryDict) -> str:
    """A list's query string as a view keeps it: no cursor, no empty values, keys in a stable order
    (so the view that is open can be recognised), and no longer than the column."""
    data = QueryDict(query, mutable=True) if isinstance(query, str) else query.copy()
    pairs = sorted((k, v) for k, values in data.lists() if k not in NOT_SAVED for v in values if v != "")
    clean = QueryDict(mutable=True)
    for key, value in pairs:
        clean.appendlist(key, value)
    return clean.urlencode()[:QUERY_MAX]


def list_url(list_name: str, query: str = "") -> str:
    base = reverse(LISTS[list_name][0])
    return f"{base}?{query}" if query else f"{base}?{PLAIN}=1"


@dataclass
class ViewMenu:
    mine: list[SavedView]
    team: list[SavedView]
    current: SavedView | None


def views_visible(user: User | AnonymousUser, account: Account, list_name: str | None = None) -> list[SavedView]:
    """The person's own views and those shared on the account, one query."""
    qs = SavedView.objects.filter(account=account).filter(Q(owner_id=user.pk) | Q(shared=True)).select_related("owner")
    if list_name:
        qs = qs.filter(list_name=list_name)
    return list(qs.order_by("list_name", "name", "id"))


def views_for_request(request: HttpRequest, account: Account, list_name: str) -> list[SavedView]:
    """`views_visible` for one list, read once per request (the default-view check and the menu
    share it)."""
    found: dict[tuple[Any, str], list[SavedView]] = request.__dict__.setdefault("_saved_views", {})
    key = (account.pk, list_name)
    if key not in found:
        found[key] = views_visible(request.user, account, list_name)
    return found[key]


def view_menu(request: HttpRequest, account: Account, list_name: str, query: str) -> ViewMenu:
    user = request.user
    views = views_for_request(request, account, list_name)
    mine = [v for v in views if v.owner_id == user.pk]
    team = [v for v in views if v.owner_id != user.pk]
    current = next((v for v in mine + team if v.query == query), None)
    return ViewMenu(mine=mine, team=team, current=current)


@transaction.atomic
def view_save(*, owner: User, account: Account, list_name: str, name: str, query: str, shared: bool, default: bool) -> SavedView:
    """Save (or, under a name the person already uses on this list, update) a view."""
    if list_name not in LISTS:
        raise ViewRefused("Unknown list.")
    name = " ".join(name.split())[:NAME_MAX]
    if not name:
        raise ViewRefused("Give the view a name.")
    view, _ = SavedView.objects.update_or_create(
        owner=owner,
        account=account,
        list_name=list_name,
        name=name,
        defaults={"query": query_clean(query), "shared": shared},
    )
    if default:
        view_default_set(view, on=True)
    return view


@transaction.atomic
def view_default_set(view: SavedView, *, on: bool) -> None:
    """Make `view` its owner's default for its list (the previous default stops being one), or not."""
    if on:
        SavedView.objects.filter(
            owner_id=view.owner_id, account_id=view.account_id, list_name=view.list_name, is_default=True
        ).exclude(pk=view.pk).update(is_default=False)
    view.is_default = on
    view.save(update_fields=["is_default"])


def opens_default_view(list_name: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Wrap a list view: asked for with no query string at all, it goes to the person's default view."""

    def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def list_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if (
                request.method == "GET"
                and not request.GET
                and not getattr(request, "htmx", False)
                and request.user.is_authenticated
            ):
                account = request_account(request)
                views = views_for_request(request, account, list_name) if account else []
                default = next((v for v in views if v.is_default and v.owner_id == request.user.pk), None)
                if default is not None and default.query:
                    return redirect(f"{request.path}?{default.query}")
            return view(request, *args, **kwargs)

        return list_view

    return wrap
