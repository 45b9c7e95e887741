"""Pieces every screen's views share: rendering in an account's time zone, the no-account page, and
the account switcher."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dashboard.scope import SESSION_KEY, request_accounts


def render_zoned(request: HttpRequest, template: str, context: dict[str, Any], zone: ZoneInfo) -> HttpResponse:
    """Render with every date shown in `zone` (the account's), whatever the server's zone is."""
    with timezone.override(zone):
        return render(request, template, context)


def no_account(request: HttpRequest, title: str) -> HttpResponse:
    """A person with no account granted yet sees why the screen is empty and whom to ask."""
    return render(request, "dashboard/no_account.html", {"title": title})


@require_POST
def account_switch(request: HttpRequest) -> HttpResponse:
    """Remember which account the lists show; only an account this person may see is accepted."""
    wanted = request.POST.get("account", "")
    if any(str(a.id) == wanted for a in request_accounts(request)):
        request.session[SESSION_KEY] = wanted
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = "/"
    # Cursors and object ids belong to the old account: go back to the list, not the same page.
    return redirect(target.split("?", 1)[0])
