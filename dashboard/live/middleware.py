"""The change versions a page starts from, read before its view reads any data: a page that read its
data at version 7 must not claim version 8, or a change committed meanwhile would never be fetched.
Full-page GETs of signed-in people only; `{% live_body %}` writes them into the page."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from dashboard.live.scopes import scopes_allowed
from dashboard.people.access import request_accounts
from integrations.rentengine.mirror import scope_versions

SKIPPED_PREFIXES = ("/live/", "/static/", "/webhooks/", "/admin/", "/healthz", "/login/", "/logout/")


def live_versions_middleware(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        if _is_page_request(request):
            request.__dict__["live_versions"] = page_versions(request)
        return get_response(request)

    return middleware


def _is_page_request(request: HttpRequest) -> bool:
    if request.method != "GET" or request.headers.get("HX-Request") or request.path.endswith(".csv"):
        return False
    if request.path.startswith(SKIPPED_PREFIXES):
        return False
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated)


def versions_of_page(request: HttpRequest) -> dict[str, int]:
    """The versions this page request started from: read by the middleware, else now (a page it skipped)."""
    versions: dict[str, int] | None = request.__dict__.get("live_versions")
    return versions if versions is not None else page_versions(request)


def page_versions(request: HttpRequest) -> dict[str, int]:
    """The version of every scope this person may watch, as of now."""
    return scope_versions(scopes_allowed(a.id for a in request_accounts(request)))
