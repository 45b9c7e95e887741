"""The frame around every screen: home, health, the screens still to come, the account switcher, and
the two helpers every screen's views share (rendering in the account's time zone, the no-account page)."""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_not_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.utils.encoding import iri_to_uri
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dashboard.models import user_is_manager
from dashboard.ops import first_sync_banners
from dashboard.people.access import SESSION_KEY, request_accounts
from dashboard.reachability import broker_check, database_check
from integrations.rentengine.models import OutboxAssignment, SyncState, WebhookDelivery

# Screens whose issue has not landed yet: the page says what is coming.
COMING: dict[str, tuple[str, str]] = {}

logger = logging.getLogger(__name__)


def render_zoned(request: HttpRequest, template: str, context: dict[str, Any], zone: ZoneInfo) -> HttpResponse:
    """Render with every date shown in `zone` (the account's), whatever the server's zone is."""
    with timezone.override(zone):
        return render(request, template, context)


def no_account(request: HttpRequest, title: str) -> HttpResponse:
    """A person with no account granted yet sees why the screen is empty and whom to ask."""
    return render(request, "dashboard/no_account.html", {"title": title})


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Where a login lands: My day (an agent's own, a manager's team's)."""
    return redirect("today")


@require_GET
def coming_soon(request: HttpRequest, screen: str) -> HttpResponse:
    title, description = COMING[screen]
    context = {"title": title, "description": description, "screen": screen}
    return render(request, "dashboard/coming.html", context)


@require_GET
def first_sync_banner(request: HttpRequest) -> HttpResponse:
    """The first-sync lines of a screen (`?screen=<URL name>`), for the banner's live refresh: empty
    once that screen's resources have all synced once. No database query."""
    screen = request.GET.get("screen", "")[:64]
    context = {"sync_banners": first_sync_banners(screen), "sync_screen": screen}
    return render(request, "partials/first_sync.html", context)


@require_POST
def account_switch(request: HttpRequest) -> HttpResponse:
    """Remember which account the lists show; only an account this person may see is accepted."""
    wanted = request.POST.get("account", "")
    if any(str(a.id) == wanted for a in request_accounts(request)):
        request.session[SESSION_KEY] = wanted
    target = request.POST.get("next") or "/"
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"  # only a path of this site (a bare word would be read as a view name)
    # Cursors and object ids belong to the old account: go back to the list, not the same page.
    return HttpResponseRedirect(iri_to_uri(target.split("?", 1)[0].replace("\x00", "")))


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for on their own: the icon every page links to."""
    response = HttpResponsePermanentRedirect(static("favicon.svg"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """ok/unavailable per component for anyone (a load balancer); the details only for a signed-in
    manager, and in the log when something is down (role names and ports are nobody else's business)."""
    database_ok, database_detail = database_check()
    broker_ok, broker_detail = broker_check()
    healthy = database_ok and broker_ok
    body: dict[str, Any] = {
        "status": "ok" if healthy else "unavailable",
        "database": "ok" if database_ok else "unavailable",
        "broker": "ok" if broker_ok else "unavailable",
    }
    if not healthy:
        logger.error("healthz: database %s, broker %s", database_detail, broker_detail)
    if database_ok and user_is_manager(request.user):
        body["details"] = health_details(database_detail, broker_detail)
    return JsonResponse(body, status=200 if healthy else 503)


def health_details(database: str, broker: str) -> dict[str, Any]:
    """What an operator wants from /healthz: components, each resource's last sync age, the backlogs."""
    now = timezone.now()
    return {
        "database": database,
        "broker": broker,
        "last_sync_age_seconds": {
            s.resource: round((now - s.last_success_at).total_seconds()) if s.last_success_at else None
            for s in SyncState.objects.only("resource", "last_success_at")
        },
        "webhooks_waiting": WebhookDelivery.objects.filter(status=WebhookDelivery.Status.RECEIVED).count(),
        "webhooks_failed": WebhookDelivery.objects.filter(status=WebhookDelivery.Status.FAILED).count(),
        "outbox": dict(
            OutboxAssignment.objects.exclude(state__in=OutboxAssignment.TERMINAL).values_list("state").annotate(n=Count("id"))
        ),
    }
