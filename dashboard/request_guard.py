"""An ASGI guard in front of Django: refuse oversized bodies and unkeyed webhook posts before reading them.

Django's ASGI handler reads (and spools to disk) a whole body before any view can refuse it, so
anyone could fill the disk with one slow upload. This guard answers 413 when `Content-Length` is over
the limit and 401 to a webhook POST without a valid key, before a byte of the body is read; a body
sent without a length is counted as it arrives and refused once it passes the limit. Hand-written:
it is a few lines of ASGI that no maintained library offers for Django's ASGI handler.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

from integrations.rentengine.webhooks import webhook_key_refusal, webhook_refusal_record

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

WEBHOOK_PATH = "/webhooks/rentengine/"


class RequestGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        webhook = scope["path"] == WEBHOOK_PATH
        limit = settings.RENTENGINE_WEBHOOK_MAX_BYTES if webhook else settings.REQUEST_MAX_BODY_BYTES
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        if webhook and scope["method"] == "POST":
            refusal = webhook_key_refusal(headers.get(settings.RENTENGINE_WEBHOOK_HEADER.lower()))
            if refusal is not None:
                await webhook_refusal_record(refusal, (scope.get("client") or (None,))[0])
                await _answer(send, 401, "missing or wrong API key", webhook)
                return
        length = headers.get("content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _answer(send, 400, "Content-Length is not a number", webhook)
                return
            if declared > limit:
                await _answer(send, 413, f"the body is larger than {limit} bytes", webhook)
                return
            await self.app(scope, receive, send)
            return
        if "chunked" not in headers.get("transfer-encoding", "").lower():
            await self.app(scope, receive, send)
            return
        # No length given: read at most the limit, then hand Django what came (bounded in memory).
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limit:
                await _answer(send, 413, f"the body is larger than {limit} bytes", webhook)
                return
            if not message.get("more_body"):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _answer(send: Send, status: int, message: str, as_json: bool) -> None:
    if as_json:
        body, kind = json.dumps({"success": False, "error": message}).encode(), b"application/json"
    else:
        body, kind = f"{message}\n".encode(), b"text/plain; charset=utf-8"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def quiet_after_disconnect(app: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """When a live stream's tab closes, Django may send `request_finished` after asgiref's executor
    for that request has quit, and asgiref raises (an upstream race). The response is over by then:
    say so at INFO rather than as an application error with a traceback."""

    async def application(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send)
        except RuntimeError as error:
            if "CurrentThreadExecutor already quit" not in str(error):
                raise
            logger.info("request cleanup after the client left: %s", scope.get("path"))

    return application
