"""Saved views: save the list's current filters under a name (from the menu on every list), and the
page where a person manages theirs (default, shared, deleted). Posts redirect back, so all of it
works without JavaScript."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard import submit_once
from dashboard.display.row_models import SavedViewRow
from dashboard.lists.saved_views import ViewRefused, list_url, view_default_set, view_save, views_visible
from dashboard.models import SavedView
from dashboard.people.access import account_zone, request_account
from dashboard.views.frame import no_account, render_zoned


@require_POST
def saved_view_save(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        raise Http404("No account.")
    list_name = request.POST.get("list", "")
    saved: list[SavedView] = []

    def save() -> str:
        view = view_save(
            owner=request.user,  # type: ignore[arg-type]
            account=account,
            list_name=list_name,
            name=request.POST.get("name", ""),
            query=request.POST.get("query", ""),
            shared=bool(request.POST.get("shared")),
            default=bool(request.POST.get("default")),
        )
        saved.append(view)
        return list_url(view.list_name, view.query)

    try:
        outcome = submit_once.run_once(request, "saved_view", save)
    except (ViewRefused, submit_once.SubmitRefused) as refusal:
        messages.error(request, str(refusal))
        return redirect(reverse("saved_views"))
    if saved:  # not on a repeat: the first submit said so already
        messages.success(request, f"Saved the view “{saved[0].name}”.")
    return redirect(outcome.result)


def _own_view(request: HttpRequest, view_id: int) -> SavedView:
    """The person's own view, else 404 (a teammate's shared view can be opened, not changed)."""
    view = SavedView.objects.filter(pk=view_id, owner_id=request.user.pk).first()
    if view is None:
        raise Http404("No such view of yours.")
    return view


@require_POST
def saved_view_change(request: HttpRequest, view_id: int, change: str) -> HttpResponse:
    view = _own_view(request, view_id)
    if change == "default":
        view_default_set(view, on=not view.is_default)
    elif change == "share":
        view.shared = not view.shared
        view.save(update_fields=["shared"])
    elif change == "delete":
        view.delete()
        messages.success(request, f"Deleted the view “{view.name}”.")
    else:
        raise Http404("No such change.")
    return redirect(reverse("saved_views"))


@require_GET
def saved_view_list(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        return no_account(request, "Saved views")
    rows = [
        (
            view.owner_id == request.user.pk,
            SavedViewRow(
                id=view.pk,
                name=view.name,
                url=list_url(view.list_name, view.query),
                list_label=view.get_list_name_display(),
                is_default=view.is_default,
                shared=view.shared,
                owner_name=view.owner.get_full_name() or view.owner.get_username(),
            ),
        )
        for view in views_visible(request.user, account)
    ]
    context: dict[str, Any] = {
        "title": "Saved views",
        "account": account,
        "mine": [row for mine, row in rows if mine],
        "team": [row for mine, row in rows if not mine],
    }
    return render_zoned(request, "saved_views/list.html", context, account_zone(account))
