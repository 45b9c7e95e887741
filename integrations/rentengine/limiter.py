"""One rate limiter for every process that talks to RentEngine.

RentEngine answers every response with `X-Ratelimit-Limit: 30`, but nobody knows the window for sure:
public clients read it as 5 s and as 60 s (API-FACTS 1.6, 4.7). We pace at `RENTENGINE_RATE_LIMIT`
(28) requests per `RENTENGINE_RATE_WINDOW_SECONDS` (5) and learn from 429s.

Algorithm: a **sliding window log**, not GCRA. The promise we make is "never more than N requests
in any window of W seconds", whatever way RentEngine counts (fixed or rolling windows). The log
enforces exactly that invariant: a slot is granted only while fewer than N slots lie in the last W
seconds, so no W-long interval can ever hold N + 1 grants. GCRA with a burst of N admits up to about
2N - 1 in some W-long interval (a full burst, then steady emission), so it would need a halved burst
or perfectly smooth spacing to give the same promise, i.e. less throughput or a wait of W/N even for
the first request of a page action. The log costs at most N * (60 s / W) small entries in a sorted
set, and it gives the /sync/ page per-lane usage for free.

A slot is **held until its request completes**: the entry counts as in flight from the grant, and
`release` moves it to the completion time. RentEngine counts arrivals, and an arrival lies somewhere
between our grant and the answer; stamping grants alone let a request granted early but slowed on
its way (a fresh connection, a slow network) land in the same server window as 28 later ones (the
simulator saw 29 in 5 s). With completion stamps, N + 1 arrivals in one window would need the last
of them to have been granted while the other N were in flight or finished within W, which the log
refuses. An entry never released (its process died mid-request) stops counting after `hold`.

Backends: Redis when `settings.REDIS_URL` is set (`limiter_redis.py`: every read-modify-write is one
Lua script, and the clock is Redis's own `TIME`, so workers on different hosts share one clock);
otherwise, in embedded mode, a small file under `settings.VAR_DIR` locked with `flock`
(`limiter_local.py`), so the web server, every Celery child, beat and `manage.py rentengine_sync`
share one budget on the machine, and a process started right after another one knows the window that
one used. An in-process backend with the same rules remains for tests (`limiter_create()` without a
URL or a path).

Shared state besides the log:
* a **cooldown**: a 429 stops every process until `Retry-After` (capped) or, without the header, an
  exponential backoff from the effective window;
* an **adaptive slowdown**: a 429 for a request granted *after* the previous 429 (so our pacing, not
  in-flight stragglers, caused it) is a strike; two strikes within `strike_memory` double the
  effective window (28 per 10 s, 20 s, 40 s, up to 60 s), with a reason string in `state()` and in the
  log. After `recovery_quiet` seconds without a 429 the window halves again, one step per quiet
  period, because the real window may well be longer than 5 s.
* **priority lanes** interactive > bulk > incremental > backfill: a caller that cannot get a slot
  registers as a waiter of its lane (with an expiry it keeps refreshing while it waits); a caller
  gives way whenever a higher lane has a live waiter. Lower lanes are never blocked by idle higher
  lanes, and a dead process's registration expires after `waiter_ttl` seconds.
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

from integrations.rentengine.limiter_core import (
    LANES,
    Backend,
    Grant,
    Lane,
    LimiterConfig,
    LimiterError,
    LimiterState,
    LimiterUnavailable,
    SlotTimeout,
    recovery_reason,
    reduction_reason,
)
from integrations.rentengine.limiter_local import FileBackend, MemoryBackend
from integrations.rentengine.limiter_redis import RedisBackend

logger = logging.getLogger(__name__)

FILE_NAME = "rentengine-limiter.json"  # under settings.VAR_DIR, in embedded mode


class Limiter:
    """Blocking front end shared by every backend: `acquire` before every request, `release` after it
    (or `with limiter.slot(lane):`)."""

    def __init__(self, backend: Backend, config: LimiterConfig) -> None:
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
                attempt = self.backend.attempt(lane, waiter, slot)
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
        known 429 were already in flight and belong to the same episode (no new strike).
        """
        remaining, slowdown, lowered, strikes = self.backend.report_429(retry_after, granted_at)
        if lowered:
            logger.warning("RentEngine rate limiter: %s", reduction_reason(self.config, slowdown, strikes))
        self._seen_slowdown = slowdown
        return remaining

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
    backend: Backend
    if redis_url:
        backend = RedisBackend(redis_url, config, prefix=prefix)
    elif path is not None:
        backend = FileBackend(path, config)
    else:
        backend = MemoryBackend(config, prefix=prefix)
    return Limiter(backend, config)


_shared: tuple[tuple[Any, ...], Limiter] | None = None
_shared_lock = threading.Lock()


def get_limiter() -> Limiter:
    """The limiter every RentEngine request in this process goes through, built from settings: on Redis
    when REDIS_URL is set, otherwise on the file every process of this machine shares."""
    from django.conf import settings

    global _shared
    key = (settings.REDIS_URL, str(settings.VAR_DIR), settings.RENTENGINE_RATE_LIMIT, settings.RENTENGINE_RATE_WINDOW_SECONDS)
    with _shared_lock:
        if _shared is None or _shared[0] != key:
            config = LimiterConfig(limit=settings.RENTENGINE_RATE_LIMIT, window=settings.RENTENGINE_RATE_WINDOW_SECONDS)
            path = Path(settings.VAR_DIR) / FILE_NAME
            _shared = (key, limiter_create(redis_url=settings.REDIS_URL or None, path=path, config=config))
        return _shared[1]


def state() -> LimiterState:
    """The shared limiter's state, for the /sync/ page."""
    return get_limiter().state()


__all__ = [
    "FILE_NAME",
    "LANES",
    "FileBackend",
    "Grant",
    "Lane",
    "Limiter",
    "LimiterConfig",
    "LimiterError",
    "LimiterState",
    "LimiterUnavailable",
    "MemoryBackend",
    "RedisBackend",
    "SlotTimeout",
    "get_limiter",
    "limiter_create",
    "state",
]
