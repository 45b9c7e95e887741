"""One listener per web process serves every open stream in it: with Redis, one pub/sub subscription
on `mirror.channel()`; without it (or while Redis is away), a read of the counters of every scope
an open stream watches, every LIVE_POLL_SECONDS. Each stream is a `Listener`: a queue of
`{scope: version}` for the scopes it watches."""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

from integrations.rentengine.mirror import channel, scope_versions

logger = logging.getLogger(__name__)

# Counter reads run off the event loop, on a few threads of their own. Those threads live outside
# any request, so nothing would ever close their connections: each read closes its own (an idle
# connection held forever would also keep a test database from being dropped).
_db = ThreadPoolExecutor(max_workers=4, thread_name_prefix="live-db")


def _closing[T](fn: Callable[[], T]) -> T:
    try:
        return fn()
    finally:
        connection.close()


async def db_call[T](fn: Callable[[], T]) -> T:
    """Run a (small) ORM read off the event loop, on a live-db thread, closing its connection after."""
    return await asyncio.get_running_loop().run_in_executor(_db, _closing, fn)


async def versions_read(scopes: Iterable[str]) -> dict[str, int]:
    wanted = list(scopes)
    if not wanted:
        return {}
    return await db_call(lambda: scope_versions(wanted))


@dataclass(eq=False)
class Listener:
    scopes: frozenset[str]
    queue: asyncio.Queue[dict[str, int]] = field(default_factory=asyncio.Queue)

    def offer(self, versions: dict[str, int]) -> None:
        mine = {scope: version for scope, version in versions.items() if scope in self.scopes}
        if mine:
            self.queue.put_nowait(mine)


class Hub:
    def __init__(self) -> None:
        self.listeners: set[Listener] = set()
        self.task: asyncio.Task[None] | None = None
        self.mode = "idle"  # "redis" while subscribed, "polling" otherwise (shown in logs and tests)
        self._seen: dict[str, int] = {}
        self._backoff = 1.0

    def join(self, scopes: Iterable[str]) -> Listener:
        listener = Listener(frozenset(scopes))
        self.listeners.add(listener)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run(), name="live-hub")
        return listener

    def leave(self, listener: Listener) -> None:
        self.listeners.discard(listener)
        if not self.listeners and self.task is not None:
            self.task.cancel()
            self.task = None
            self.mode = "idle"
            self._seen.clear()

    def _deliver(self, versions: dict[str, int]) -> None:
        for listener in list(self.listeners):
            listener.offer(versions)

    async def _run(self) -> None:
        while True:
            if settings.REDIS_URL:
                try:
                    await self._listen()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    logger.warning("live updates: Redis pub/sub failed (%s); polling the counters meanwhile", exc)
                self.mode = "polling"
                # Poll through the backoff, so a Redis outage delays nothing by more than a poll.
                for _ in range(max(1, round(self._backoff / settings.LIVE_POLL_SECONDS))):
                    await self._poll_once()
                    await asyncio.sleep(settings.LIVE_POLL_SECONDS)
                self._backoff = min(self._backoff * 2, 30.0)
            else:
                self.mode = "polling"
                await self._poll_once()
                await asyncio.sleep(settings.LIVE_POLL_SECONDS)

    async def _poll_once(self) -> None:
        scopes = set().union(*(listener.scopes for listener in self.listeners))
        try:
            versions = await versions_read(scopes)
        except Exception as exc:  # the database is away: the next poll tries again
            logger.warning("live updates: could not read the change counters: %s", exc)
            return
        changed = {scope: version for scope, version in versions.items() if self._seen.get(scope) != version}
        self._seen.update(versions)
        if changed:
            self._deliver(changed)

    async def _listen(self) -> None:
        import redis.asyncio as aioredis

        # https://redis.readthedocs.io/en/stable/advanced_features.html#publish-subscribe
        client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, health_check_interval=30)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(channel())
            self.mode, self._backoff = "redis", 1.0
            # Bumps published before the subscription took are only in the counters.
            await self._poll_once()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=30.0)
                if message is not None:
                    versions = _parse(message.get("data"))
                    if versions:
                        self._deliver(versions)
        finally:
            await pubsub.aclose()
            await client.aclose()


def _parse(data: Any) -> dict[str, int]:
    try:
        return {str(scope): int(version) for scope, version in json.loads(data).items()}
    except (ValueError, TypeError, AttributeError):
        return {}


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub_for_loop() -> Hub:
    """The hub of the running event loop (uvicorn runs one loop per worker process)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub
