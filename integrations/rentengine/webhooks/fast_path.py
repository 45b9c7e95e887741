"""An ASGI route that serves the webhook receiver without the dashboard's middleware.

Each `MiddlewareMixin` costs a thread hop under ASGI, and none of them applies to a CSRF-exempt
machine-to-machine POST; the view checks ALLOWED_HOSTS itself. Wire it in the ASGI module:
`application = webhook_fast_path(get_asgi_application())`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WEBHOOK_PATH = "/webhooks/rentengine/"


class WebhookHandler(ASGIHandler):
    """Django's ASGI handler with no middleware (BaseHandler.load_middleware for an empty MIDDLEWARE)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Django wraps each request in a ThreadSensitiveContext: a new thread for the request's sync
        # code. The webhook view is async; the only sync code left is Django's own request signal
        # receivers (microseconds), which can share asgiref's one sync thread: ~0.6 ms CPU a delivery.
        await self.handle(scope, receive, send)

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        get_response = self._get_response_async if is_async else self._get_response  # type: ignore[attr-defined]
        self._middleware_chain = convert_exception_to_response(get_response)


def webhook_fast_path(app: ASGIApp) -> ASGIApp:
    """Wrap the project's ASGI application: the webhook path goes to `WebhookHandler`, the rest to `app`."""
    handler = WebhookHandler()

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"][len(scope.get("root_path", "")) :] == WEBHOOK_PATH:
            await handler(scope, receive, send)
        else:
            await app(scope, receive, send)

    application.webhook_fast_path = True  # type: ignore[attr-defined]
    return application
