"""Request ids: every web request gets one, in its log lines and in the `X-Request-ID` response header.

A sane `X-Request-ID` from a proxy is kept, so one id follows a request through the proxy's logs and ours.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from integrations.rentengine.log_context import log_context

_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def _request_id(request: HttpRequest) -> str:
    offered = request.headers.get("X-Request-ID", "")
    return offered if _SANE_ID.fullmatch(offered) else uuid.uuid4().hex


def request_id_middleware(get_response: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
    if iscoroutinefunction(get_response):

        async def middleware_async(request: HttpRequest) -> HttpResponse:
            rid = _request_id(request)
            with log_context(request_id=rid):
                response = await get_response(request)
            response["X-Request-ID"] = rid
            return response

        markcoroutinefunction(middleware_async)
        return middleware_async

    def middleware(request: HttpRequest) -> HttpResponse:
        rid = _request_id(request)
        with log_context(request_id=rid):
            response = get_response(request)
        response["X-Request-ID"] = rid
        return response

    return middleware


request_id_middleware.sync_capable = True  # type: ignore[attr-defined]
request_id_middleware.async_capable = True  # type: ignore[attr-defined]
