"""The limiter's front end: every RentEngine request takes a slot (`acquire`) and gives it back (`release`).

A caller that cannot have a slot sleeps (never spins) for as long as the rules say, refreshing its
place in its lane's queue while it waits. `get_limiter()` is the one limiter of this process, built
from settings: on Redis when REDIS_URL is set, else on the file every process of the machine shares.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

from integrations.rentengine.limiter.rules import (
    Grant,
    Lane,
    LimiterConfig,
    LimiterState,
    SlotTimeout,
    recovery_reason,
    reduction_reason,
)
from integrations.rentengine.limiter.stores import FileStore, MemoryStore, RedisStore, Store

logger = logging.getLogger(__name__)

FILE_NAME = "rentengine-limiter.json"  # under settings.VAR_DIR, in embedded mode


class Limiter:
    """Blocking front end shared by every backend: `acquire` before every request, `release` after it
    (or `with limiter.slot(lane):`)."""

    def __init__(self, backend: Store, config: LimiterConfig) -> None:
        self.backend = backend
        self.config = config
        self._seen_slowdown = 1.0

    def __repr__(self) -> str:
        return f"<Limiter {self.backend.name} {self.config.limit}/{self.config.window:g}s>"

    def acquire(self, lane: Lane | str = Lane.INCREMENTAL, timeout: float | None = 60.0) -> Grant:
        """Block (sleeping, never spinning) until this lane may send one request; raise SlotTimeout."""
        lane = Lane(lane)
        waiter = uuid.uuid4().hex
        slot = f"{lane.value}:{waiter}"
        started = time.monotonic()
        deadline = None if timeout is None else started + timeout
        granted = False
        try:
            while True:
                attempt = self.backend.attempt(lane, waiter, slot, time.monotonic() - started)
                self._note_slowdown(attempt.slowdown)
                if attempt.granted:
                    granted = True
                    return Grant(lane=lane, granted_at=attempt.at, waited=time.monotonic() - started, slot=slot)
                if attempt.why == "priority":
                    # Give way, but look again soon: the higher lane may be done in a moment.
                    pause = self.config.yield_sleep * (1 + random.random())
                else:
                    # Wake just after the slot frees (or the cooldown ends), refreshing our registration.
                    pause = min(attempt.wait + 0.001, self.config.max_sleep)
                now = time.monotonic()
                if deadline is not None:
                    if now >= deadline:
                        raise SlotTimeout(lane, now - started, self.backend.state())
                    pause = min(pause, deadline - now)
                time.sleep(max(pause, 0.001))
        finally:
            if not granted:
                self.backend.unregister(lane, waiter)

    @contextlib.contextmanager
    def slot(self, lane: Lane | str = Lane.INCREMENTAL, timeout: float | None = 60.0) -> Iterator[Grant]:
        """`with limiter.slot("bulk") as grant: <one request>`: acquire, then release when done."""
        grant = self.acquire(lane, timeout)
        try:
            yield grant
        finally:
            self.release(grant)

    def release(self, grant: Grant) -> None:
        """The request of this grant is over (answered or failed): its slot now dates from now."""
        if grant.slot:
            self.backend.release(grant.slot)

    def report_429(self, *, retry_after: float | None = None, granted_at: float | None = None) -> float:
        """RentEngine said 429: start (or extend) the shared cooldown; returns its remaining seconds.

        `granted_at` is the grant of the request that got the 429: requests granted before the last
        slowdown were already in flight and belong to the same episode (no second slowdown).
        """
        report = self.backend.report_429(retry_after, granted_at, random.random())
        if report.lowered:
            logger.warning(
                "RentEngine rate limiter: %s", reduction_reason(self.config, report.slowdown, report.refused, report.requests)
            )
        self._seen_slowdown = report.slowdown
        return report.remaining

    def state(self) -> LimiterState:
        state = self.backend.state()
        self._note_slowdown(state.slowdown)
        return state

    def _note_slowdown(self, slowdown: float) -> None:
        if slowdown < self._seen_slowdown:
            if slowdown <= 1.0:
                logger.info(
                    "RentEngine rate limiter: back to the configured %s requests per %g s", self.config.limit, self.config.window
                )
            else:
                logger.info("RentEngine rate limiter: %s", recovery_reason(self.config, slowdown))
        self._seen_slowdown = slowdown


# --- the process-wide limiter ---------------------------------------------------------------------


def limiter_create(
    *,
    redis_url: str | None = None,
    path: str | Path | None = None,
    config: LimiterConfig | None = None,
    prefix: str | None = None,
) -> Limiter:
    """A limiter on Redis when a URL is given, else on the file at `path` when one is given, else in-process.

    `prefix` names the shared budget on Redis and in this process; a file is its own namespace.
    """
    config = config or LimiterConfig()
    prefix = prefix or "rentengine:limiter:"
    backend: Store
    if redis_url:
        backend = RedisStore(redis_url, config, prefix=prefix)
    elif path is not None:
        backend = FileStore(path, config)
    else:
        backend = MemoryStore(config, prefix=prefix)
    return Limiter(backend, config)


_shared: tuple[tuple[Any, ...], Limiter] | None = None
_shared_lock = threading.Lock()


def get_limiter() -> Limiter:
    """The limiter every RentEngine request in this process goes through, built from settings: on Redis
    when REDIS_URL is set, otherwise on the file every process of this machine shares."""
    global _shared
    key = (settings.REDIS_URL, str(settings.VAR_DIR), settings.RENTENGINE_RATE_LIMIT, settings.RENTENGINE_RATE_WINDOW_SECONDS)
    with _shared_lock:
        if _shared is None or _shared[0] != key:
            config = LimiterConfig(limit=settings.RENTENGINE_RATE_LIMIT, window=settings.RENTENGINE_RATE_WINDOW_SECONDS)
            path = Path(settings.VAR_DIR) / FILE_NAME
            _shared = (key, limiter_create(redis_url=settings.REDIS_URL or None, path=path, config=config))
        return _shared[1]


def limiter_state() -> LimiterState:
    """The shared limiter's state, for the /sync/ page."""
    return get_limiter().state()
