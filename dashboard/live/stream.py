"""The event stream one page reads: `hello` with the current versions of its scopes, then `changed`
whenever one of them moves (a burst of bumps is one notice), and a `: keep-alive` comment when
nothing else was sent for a while, so proxies keep the connection and browsers notice a dead one.
At every heartbeat the stream asks whether its person may still watch it; `bye` ends it when not."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from dashboard.live.hub import hub_for_loop, versions_read


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'), sort_keys=True)}\n\n"


async def notices(
    scopes: list[str], *, heartbeat: float, retry_ms: int, still_allowed: Callable[[], Awaitable[str]] | None = None
) -> AsyncIterator[str]:
    """The stream's text. Ends when `still_allowed` names a reason (logged out, session expired,
    access lost), or by cancellation: Django cancels it when the client goes away (ASGIHandler
    listens for http.disconnect), and the `finally` gives the listener back."""
    hub = hub_for_loop()
    listener = hub.join(scopes)
    try:
        known = await versions_read(scopes)
        yield f"retry: {retry_ms}\n" + sse("hello", {"versions": known})
        last_sent = checked = time.monotonic()
        while True:
            wait = max(0.0, heartbeat - (time.monotonic() - min(last_sent, checked)))
            try:
                news = await asyncio.wait_for(listener.queue.get(), timeout=wait)
            except TimeoutError:
                # In Redis mode a lost publish would go unnoticed: the heartbeat reads the counters.
                news = await versions_read(scopes) if hub.mode == "redis" else {}
            while not listener.queue.empty():  # a burst of bumps becomes one notice
                for scope, version in listener.queue.get_nowait().items():
                    news[scope] = max(version, news.get(scope, 0))
            if still_allowed is not None and time.monotonic() - checked >= heartbeat:
                checked = time.monotonic()
                reason = await still_allowed()
                if reason:
                    yield sse("bye", {"reason": reason})
                    return
            fresh = {scope: version for scope, version in news.items() if version > known.get(scope, 0)}
            if fresh:
                known.update(fresh)
                yield sse("changed", fresh)
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= heartbeat:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
    finally:
        hub.leave(listener)
