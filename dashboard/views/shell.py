"""The frame around every screen: home, health, and the screens still to come."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dashboard.health import broker_check, database_check

# Screens whose issue has not landed yet: the page says what is coming.
COMING: dict[str, tuple[str, str]] = {}


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("prospects")


@require_GET
def coming_soon(request: HttpRequest, screen: str) -> HttpResponse:
    title, description = COMING[screen]
    context = {"title": title, "description": description, "screen": screen}
    return render(request, "dashboard/coming.html", context)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database_ok, database_detail = database_check()
    broker_ok, broker_detail = broker_check()
    healthy = database_ok and broker_ok
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": {"ok": database_ok, "detail": database_detail},
        "broker": {"ok": broker_ok, "detail": broker_detail},
    }
    return JsonResponse(body, status=200 if healthy else 503)
