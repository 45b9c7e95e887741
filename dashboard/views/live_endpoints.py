"""The live-update endpoints: the page's event stream, the version check that replaces it where
no stream can be served, and the lockbox-code alerts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dashboard.live import capacity
from dashboard.live.hub import db_call
from dashboard.live.scopes import scopes_allowed, scopes_requested
from dashboard.live.stream import notices
from dashboard.models import accounts_for_user
from dashboard.people.access import request_accounts
from integrations.rentengine.mirror import scope_versions

RETRY_MS = 2000  # the browser's pause before reconnecting a dropped stream


def can_stream(request: HttpRequest) -> bool:
    """Only an ASGI server can hold a stream open: under WSGI (runserver, pytest's live_server) an
    endless async response is collected in full first and never reaches the browser."""
    return settings.LIVE_STREAM and isinstance(request, ASGIRequest)


@login_not_required  # answers 401 itself: a redirect to the login page means nothing to EventSource
@never_cache
@require_GET
async def live_stream(request: HttpRequest) -> HttpResponseBase:
    """One Server-Sent Events stream per page: `?s=<scope>&s=...` (only scopes of the accounts
    this person may see are kept).

    Who is asking is read on a live-db thread that closes its connection at once: the request's own
    connection, which Django would hold until the endless response ends, is never opened.
    """
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    user_id, account_ids = await db_call(lambda: stream_person(session_key))
    if user_id is None:
        return HttpResponse("Sign in again to get live updates.", status=401, content_type="text/plain")
    if not can_stream(request):
        return HttpResponse(status=204)  # the page polls /live/versions/ instead
    refused = await db_call(lambda: capacity.refusal(user_id))
    if refused:
        busy = HttpResponse(
            f"No live stream: {refused}. This page checks for changes instead.", status=429, content_type="text/plain"
        )
        busy["Retry-After"] = "60"
        return busy
    scopes = scopes_requested(request.GET.getlist("s"), scopes_allowed(account_ids))
    place = capacity.place_take(user_id)

    async def still_allowed() -> str:
        await db_call(lambda: capacity.place_refresh(user_id, place))
        now_id, now_accounts = await db_call(lambda: stream_person(session_key))
        if now_id != user_id:
            return "signed out"
        if not set(scopes) <= scopes_allowed(now_accounts):
            return "access changed"
        return ""

    async def stream() -> AsyncIterator[str]:
        try:
            async for text in notices(
                scopes, heartbeat=settings.LIVE_HEARTBEAT_SECONDS, retry_ms=RETRY_MS, still_allowed=still_allowed
            ):
                yield text
        finally:
            capacity.place_release(user_id, place)

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx would otherwise hold the events back
    return response


def stream_person(session_key: str) -> tuple[int | None, list[Any]]:
    """The signed-in person of this session and their account ids; (None, []) when there is none
    (no session, an expired one, a changed password, an inactive person)."""
    if not session_key:
        return None, []
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    data = session.load()
    raw_id = data.get(SESSION_KEY)
    if raw_id is None:
        return None, []
    user = User.objects.filter(pk=raw_id, is_active=True).first()
    if user is None or not constant_time_compare(data.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()):
        return None, []
    return user.pk, [a.id for a in accounts_for_user(user)]


@login_not_required
@never_cache
@require_GET
def live_versions(request: HttpRequest) -> JsonResponse:
    """The current versions of `?s=` scopes, and whether this server can stream: what the page
    polls when the stream answered 204, and asks once when a stream fails for good."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "signed out"}, status=401)
    allowed = scopes_allowed(a.id for a in request_accounts(request))
    scopes = scopes_requested(request.GET.getlist("s"), allowed)
    refused = capacity.refusal(request.user.pk) if can_stream(request) else ""
    return JsonResponse({"versions": scope_versions(scopes), "stream": can_stream(request) and not refused, "refused": refused})
