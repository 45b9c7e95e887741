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

Backends: Redis when `settings.REDIS_URL` is set (every read-modify-write is one Lua script, and the
clock is Redis's own `TIME`, so workers on different hosts share one clock); otherwise an in-process,
thread-safe fallback for embedded mode.

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
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class Lane(StrEnum):
    """Who is asking, highest priority first."""

    INTERACTIVE = "interactive"  # a person is waiting on a page action (test connection, availability)
    BULK = "bulk"  # outgoing posts of a bulk assignment
    INCREMENTAL = "incremental"  # cursor-driven sync passes
    BACKFILL = "backfill"  # full passes


LANES: tuple[Lane, ...] = (Lane.INTERACTIVE, Lane.BULK, Lane.INCREMENTAL, Lane.BACKFILL)


class LimiterError(Exception):
    """The limiter could not hand out a slot."""


class SlotTimeout(LimiterError):
    """No slot within the caller's timeout."""

    def __init__(self, lane: Lane, waited: float, state: LimiterState) -> None:
        self.lane = lane
        self.waited = waited
        self.cooldown_remaining = state.cooldown_remaining
        if state.cooldown_remaining > 0:
            why = f"RentEngine asked us to pause (429 cooldown, {state.cooldown_remaining:.0f} s left)"
        else:
            higher = sum(n for name, n in state.waiters_by_lane.items() if LANES.index(Lane(name)) < LANES.index(lane))
            why = f"the budget of {state.effective_limit} requests per {state.effective_window:g} s is in use"
            if higher:
                why += f" and {higher} caller(s) in higher-priority lanes are waiting"
        super().__init__(f"no RentEngine request slot in the {lane} lane within {waited:.1f} s: {why}")


class LimiterUnavailable(LimiterError):
    """The shared store (Redis) could not be reached; we never fall back to a private budget."""


@dataclass(frozen=True)
class Grant:
    """A slot. `granted_at` is on the limiter's clock: hand it back to `report_429`."""

    lane: Lane
    granted_at: float
    waited: float
    slot: str = ""  # the log entry: hand the grant to `release` when the request is over


@dataclass(frozen=True)
class LimiterState:
    """What the /sync/ page shows."""

    backend: str  # "redis" or "memory"
    limit: int
    window: float
    effective_limit: int
    effective_window: float
    effective_rate: float  # requests per second
    slowdown: float  # effective window / configured window (1 = full speed)
    cooldown_remaining: float
    reduction_reason: str  # "" when running at the configured rate
    strikes: int  # distinct 429 episodes within strike_memory
    used_in_window: int  # slots in the last effective window, in-flight ones included
    in_flight: int  # granted, not yet released
    usage_horizon: float
    recent_by_lane: dict[str, int]  # grants in the last usage_horizon seconds
    waiters_by_lane: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LimiterConfig:
    limit: int = 28
    window: float = 5.0
    waiter_ttl: float = 3.0  # a waiter that stops refreshing its registration is gone after this
    max_sleep: float = 0.5  # longest single sleep while waiting (keeps the registration fresh)
    yield_sleep: float = 0.02  # sleep of a caller that gave way to a higher lane
    max_cooldown: float = 60.0  # cap on Retry-After and on the backoff without it
    strike_memory: float = 300.0  # 429 episodes this close together count as "repeated"
    max_slowdown: float = 12.0  # 28 per 60 s at most: the slowest reading of RentEngine's window
    recovery_quiet: float = 600.0  # seconds without a 429 before each step back up
    usage_horizon: float = 60.0  # how far back per-lane usage is reported
    hold: float = 60.0  # an unreleased slot (process died mid-request) counts this long; > any request

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= 0:
            raise ValueError(f"a rate limit needs limit >= 1 and window > 0, got {self.limit} per {self.window} s")
        if self.max_sleep >= self.waiter_ttl:
            raise ValueError("max_sleep must be shorter than waiter_ttl, or live waiters would expire while sleeping")


# One wording for both backends: %-style so the Redis script can format it with string.format.
_REDUCTION = (
    "slowed to %d requests per %g s (configured %d per %g s) after %d rate-limit responses (429) within %g s "
    "although we paced: RentEngine's real window may be longer than %g s"
)
_RECOVERY = "recovering: %d requests per %g s after %g s without a 429 (configured %d per %g s)"


def _reduction_reason(config: LimiterConfig, slowdown: float, strikes: int) -> str:
    c = config
    return _REDUCTION % (c.limit, c.window * slowdown, c.limit, c.window, strikes, c.strike_memory, c.window)


def _recovery_reason(config: LimiterConfig, slowdown: float) -> str:
    c = config
    return _RECOVERY % (c.limit, c.window * slowdown, c.recovery_quiet, c.limit, c.window)


@dataclass
class _Attempt:
    granted: bool
    at: float  # grant time when granted
    wait: float  # hint: seconds until trying again makes sense
    why: str  # granted | cooldown | priority | window
    slowdown: float


class _Backend(Protocol):
    name: str

    def attempt(self, lane: Lane, waiter: str, slot: str) -> _Attempt: ...
    def release(self, slot: str) -> None: ...
    def unregister(self, lane: Lane, waiter: str) -> None: ...
    def report_429(self, retry_after: float | None, granted_at: float | None) -> tuple[float, float, bool, int]: ...
    def state(self) -> LimiterState: ...
    def clear(self) -> None: ...


class Limiter:
    """Blocking front end shared by both backends: `acquire` before every request, `release` after it
    (or `with limiter.slot(lane):`)."""

    def __init__(self, backend: _Backend, config: LimiterConfig) -> None:
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
            logger.warning("RentEngine rate limiter: %s", _reduction_reason(self.config, slowdown, strikes))
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
                logger.info("RentEngine rate limiter: %s", _recovery_reason(self.config, slowdown))
        self._seen_slowdown = slowdown


# --- in-process backend (embedded mode) ----------------------------------------------------------


@dataclass
class _MemoryShared:
    log: dict[str, tuple[float, Lane]] = field(default_factory=dict)  # slot -> (stamp, lane)
    waiters: dict[Lane, dict[str, float]] = field(default_factory=lambda: {lane: {} for lane in LANES})
    cooldown_until: float = 0.0
    slowdown: float = 1.0
    strikes: int = 0
    last_strike_at: float = float("-inf")
    last_429_at: float = float("-inf")
    changed_at: float = float("-inf")
    reason: str = ""


# One store per key prefix for the whole process, as Redis is one store for all processes: two
# limiters built in one process still share one budget.
_memory_stores: dict[str, tuple[threading.Lock, _MemoryShared]] = {}
_memory_stores_lock = threading.Lock()


class MemoryBackend:
    """The same rules as the Redis script, for threads of one process (time.monotonic clock)."""

    name = "memory"

    def __init__(self, config: LimiterConfig, *, prefix: str = "rentengine:limiter:") -> None:
        self.config = config
        with _memory_stores_lock:
            self._lock, self._s = _memory_stores.setdefault(prefix, (threading.Lock(), _MemoryShared()))

    def clear(self) -> None:
        """Forget everything (tests only)."""
        with self._lock:
            self._s.__dict__.update(_MemoryShared().__dict__)

    def _recover(self, now: float) -> None:
        s = self._s
        if s.slowdown > 1 and now - max(s.last_429_at, s.changed_at) >= self.config.recovery_quiet:
            s.slowdown = max(1.0, s.slowdown / 2)
            s.changed_at = now
            s.reason = "" if s.slowdown <= 1 else _recovery_reason(self.config, s.slowdown)

    def _expire(self, now: float) -> None:
        for registrations in self._s.waiters.values():
            for waiter in [w for w, expires in registrations.items() if expires <= now]:
                del registrations[waiter]
        horizon = max(self.config.window * self._s.slowdown, self.config.usage_horizon)
        for slot in [slot for slot, (stamp, _) in self._s.log.items() if stamp <= now - horizon]:
            del self._s.log[slot]

    def attempt(self, lane: Lane, waiter: str, slot: str) -> _Attempt:
        c, s = self.config, self._s
        with self._lock:
            now = time.monotonic()
            self._recover(now)
            self._expire(now)
            window = c.window * s.slowdown

            def wait(seconds: float, why: str) -> _Attempt:
                s.waiters[lane][waiter] = now + c.waiter_ttl
                return _Attempt(False, now, max(seconds, 0.0), why, s.slowdown)

            if s.cooldown_until > now:
                return wait(s.cooldown_until - now, "cooldown")
            for higher in LANES[: LANES.index(lane)]:
                if s.waiters[higher]:
                    return wait(0.0, "priority")
            # A hair stricter than W, as in the Redis script.
            in_window = sorted(t for t, _ in s.log.values() if t > now - window - 2e-6)
            if len(in_window) >= c.limit:
                return wait(in_window[len(in_window) - c.limit] + window + 2e-6 - now, "window")
            s.log[slot] = (now + c.hold, lane)
            s.waiters[lane].pop(waiter, None)
            return _Attempt(True, now, 0.0, "granted", s.slowdown)

    def release(self, slot: str) -> None:
        with self._lock:
            if slot in self._s.log:
                stamp, lane = self._s.log[slot]
                self._s.log[slot] = (min(stamp, time.monotonic()), lane)

    def unregister(self, lane: Lane, waiter: str) -> None:
        with self._lock:
            self._s.waiters[lane].pop(waiter, None)

    def report_429(self, retry_after: float | None, granted_at: float | None) -> tuple[float, float, bool, int]:
        c, s = self.config, self._s
        with self._lock:
            now = time.monotonic()
            granted = now if granted_at is None else granted_at
            if granted < s.last_429_at:
                # In flight before the last 429 was known: same episode, no new strike.
                if retry_after is not None:
                    s.cooldown_until = max(s.cooldown_until, now + min(retry_after, c.max_cooldown))
                return max(s.cooldown_until - now, 0.0), s.slowdown, False, s.strikes
            if now - s.last_strike_at > c.strike_memory:
                s.strikes = 0
            s.strikes += 1
            s.last_strike_at = s.last_429_at = now
            if retry_after is not None:
                pause = min(max(retry_after, 0.0), c.max_cooldown)
            else:
                pause = min(c.max_cooldown, c.window * s.slowdown * 2 ** (s.strikes - 1))
            s.cooldown_until = max(s.cooldown_until, now + pause)
            lowered = False
            if s.strikes >= 2 and s.slowdown < c.max_slowdown:
                s.slowdown = min(c.max_slowdown, s.slowdown * 2)
                s.changed_at = now
                s.reason = _reduction_reason(c, s.slowdown, s.strikes)
                lowered = True
            return s.cooldown_until - now, s.slowdown, lowered, s.strikes

    def state(self) -> LimiterState:
        c, s = self.config, self._s
        with self._lock:
            now = time.monotonic()
            self._recover(now)
            self._expire(now)
            window = c.window * s.slowdown
            recent = {lane.value: 0 for lane in LANES}
            used = in_flight = 0
            for t, lane in s.log.values():
                if t > now - c.usage_horizon:
                    recent[lane.value] += 1
                if t > now - window:
                    used += 1
                if t > now:
                    in_flight += 1
            return LimiterState(
                backend=self.name,
                limit=c.limit,
                window=c.window,
                effective_limit=c.limit,
                effective_window=window,
                effective_rate=c.limit / window,
                slowdown=s.slowdown,
                cooldown_remaining=max(s.cooldown_until - now, 0.0),
                reduction_reason=s.reason,
                strikes=s.strikes if now - s.last_strike_at <= c.strike_memory else 0,
                used_in_window=used,
                in_flight=in_flight,
                usage_horizon=c.usage_horizon,
                recent_by_lane=recent,
                waiters_by_lane={lane.value: len(s.waiters[lane]) for lane in LANES},
            )


# --- Redis backend --------------------------------------------------------------------------------

# Shared preamble: one clock (Redis TIME, never behind the last grant), slow recovery, expiry of
# dead waiters. Numbers go back to Redis through fmt(): Lua's default number formatting keeps only
# 14 significant digits, which would round epoch seconds to 0.1 ms.
_PREAMBLE = """
local function fmt(x) return string.format('%.6f', x) end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local st = redis.call('HMGET', KEYS[2], 'last_ts', 'cooldown_until', 'slowdown', 'strikes', 'last_strike_at',
                      'last_429_at', 'changed_at', 'reason')
local last_ts = tonumber(st[1]) or 0
if now < last_ts then now = last_ts end
local cooldown_until = tonumber(st[2]) or 0
local slowdown = tonumber(st[3]) or 1
local strikes = tonumber(st[4]) or 0
local last_strike_at = tonumber(st[5]) or -1e18
local last_429_at = tonumber(st[6]) or -1e18
local changed_at = tonumber(st[7]) or -1e18
local reason = st[8] or ''
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local quiet = tonumber(ARGV[3])
local horizon = tonumber(ARGV[4])
if slowdown > 1 and now - math.max(last_429_at, changed_at) >= quiet then
  slowdown = math.max(1, slowdown / 2)
  changed_at = now
  if slowdown <= 1 then
    reason = ''
  else
    reason = string.format(ARGV[5], limit, window * slowdown, quiet, limit, window)
  end
  redis.call('HSET', KEYS[2], 'slowdown', fmt(slowdown), 'changed_at', fmt(changed_at), 'reason', reason)
end
local eff = window * slowdown
for i = 3, 6 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', fmt(now)) end
"""

# KEYS: log, state, waiters x4 (lane order). ARGV: the common five (limit, window, quiet, horizon,
# recovery wording), then lane (1-4), waiter, slot, waiter_ttl, hold. A new slot is stamped
# now + hold (in flight) until `release` stamps it with the completion time.
_ACQUIRE = (
    _PREAMBLE
    + """
local lane = tonumber(ARGV[6])
local ttl = tonumber(ARGV[9])
local wkey = KEYS[2 + lane]
local function wait(seconds, why)
  redis.call('ZADD', wkey, fmt(now + ttl), ARGV[7])
  redis.call('PEXPIRE', wkey, math.ceil(ttl * 2000))
  return {0, fmt(now), fmt(math.max(seconds, 0)), why, fmt(slowdown)}
end
if cooldown_until > now then return wait(cooldown_until - now, 'cooldown') end
for i = 1, lane - 1 do
  if redis.call('ZCARD', KEYS[2 + i]) > 0 then return wait(0, 'priority') end
end
-- A hair stricter than W: scores are rounded to the microsecond.
local lo = now - eff - 0.000002
local used = redis.call('ZCOUNT', KEYS[1], '(' .. fmt(lo), '+inf')
if used >= limit then
  local e = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. fmt(lo), '+inf', 'WITHSCORES', 'LIMIT', used - limit, 1)
  return wait(tonumber(e[2]) + eff + 0.000002 - now, 'window')
end
local hold = tonumber(ARGV[10])
redis.call('ZADD', KEYS[1], fmt(now + hold), ARGV[8])
redis.call('ZREM', wkey, ARGV[7])
local keep = math.max(eff, horizon)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now - keep))
redis.call('PEXPIRE', KEYS[1], math.ceil((keep + hold) * 1000) + 1000)
redis.call('HSET', KEYS[2], 'last_ts', fmt(now))
return {1, fmt(now), '0', 'granted', fmt(slowdown)}
"""
)

# ARGV after the common five: retry_after (-1 = absent), granted_at (-1 = now), max_cooldown,
# strike_memory, max_slowdown, reduction wording.
_REPORT_429 = (
    _PREAMBLE
    + """
local ra = tonumber(ARGV[6])
local granted = tonumber(ARGV[7])
local cap = tonumber(ARGV[8])
local memory = tonumber(ARGV[9])
local max_slowdown = tonumber(ARGV[10])
if granted < 0 then granted = now end
if granted < last_429_at then
  if ra >= 0 then cooldown_until = math.max(cooldown_until, now + math.min(ra, cap)) end
  redis.call('HSET', KEYS[2], 'cooldown_until', fmt(cooldown_until))
  return {fmt(math.max(cooldown_until - now, 0)), fmt(slowdown), 0, strikes}
end
if now - last_strike_at > memory then strikes = 0 end
strikes = strikes + 1
local pause
if ra >= 0 then pause = math.min(ra, cap) else pause = math.min(cap, eff * 2 ^ (strikes - 1)) end
cooldown_until = math.max(cooldown_until, now + pause)
local lowered = 0
if strikes >= 2 and slowdown < max_slowdown then
  slowdown = math.min(max_slowdown, slowdown * 2)
  changed_at = now
  reason = string.format(ARGV[11], limit, window * slowdown, limit, window, strikes, memory, window)
  lowered = 1
end
redis.call('HSET', KEYS[2], 'cooldown_until', fmt(cooldown_until), 'strikes', strikes, 'last_strike_at', fmt(now),
           'last_429_at', fmt(now), 'slowdown', fmt(slowdown), 'changed_at', fmt(changed_at), 'reason', reason)
return {fmt(cooldown_until - now), fmt(slowdown), lowered, strikes}
"""
)

# KEYS: log, state. ARGV: slot. Only ever moves a stamp earlier (LT), never re-adds a trimmed slot (XX).
_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local last_ts = tonumber(redis.call('HGET', KEYS[2], 'last_ts')) or 0
if now < last_ts then now = last_ts end
redis.call('ZADD', KEYS[1], 'XX', 'LT', string.format('%.6f', now), ARGV[1])
return 1
"""

_STATE = (
    _PREAMBLE
    + """
local rows = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. fmt(now - math.max(eff, horizon)), '+inf', 'WITHSCORES')
local waiters = {}
for i = 3, 6 do waiters[#waiters + 1] = redis.call('ZCARD', KEYS[i]) end
if now - last_strike_at > tonumber(ARGV[6]) then strikes = 0 end
return {fmt(now), fmt(slowdown), fmt(math.max(cooldown_until - now, 0)), reason, strikes, waiters, rows}
"""
)


class RedisBackend:
    """The shared limiter: every decision is one Lua script on Redis."""

    name = "redis"

    def __init__(self, url: str, config: LimiterConfig, *, prefix: str = "rentengine:limiter:") -> None:
        import redis  # only needed when REDIS_URL is set

        self.config = config
        self.prefix = prefix
        self._redis_errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)
        self._keys = [prefix + "log", prefix + "state"] + [f"{prefix}waiters:{lane}" for lane in LANES]
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._report = self._redis.register_script(_REPORT_429)
        self._state = self._redis.register_script(_STATE)
        self._release = self._redis.register_script(_RELEASE)

    def _common(self) -> list[Any]:
        c = self.config
        return [c.limit, repr(c.window), repr(c.recovery_quiet), repr(c.usage_horizon), _RECOVERY]

    def _run(self, script: Any, args: list[Any]) -> Any:
        try:
            return script(keys=self._keys, args=args)
        except self._redis_errors as exc:
            raise LimiterUnavailable(
                f"the shared RentEngine rate limiter (Redis at REDIS_URL) is unreachable: {exc}; "
                "no request is sent without it, so that processes never exceed the limit together"
            ) from exc

    def attempt(self, lane: Lane, waiter: str, slot: str) -> _Attempt:
        args = [*self._common(), LANES.index(lane) + 1, waiter, slot, repr(self.config.waiter_ttl), repr(self.config.hold)]
        granted, at, wait, why, slowdown = self._run(self._acquire, args)
        return _Attempt(bool(int(granted)), float(at), float(wait), _text(why), float(slowdown))

    def release(self, slot: str) -> None:
        try:
            self._release(keys=self._keys[:2], args=[slot])
        except self._redis_errors:
            logger.warning("Could not release a rate-limiter slot; it stops counting after %g s", self.config.hold)

    def unregister(self, lane: Lane, waiter: str) -> None:
        try:
            self._redis.zrem(f"{self.prefix}waiters:{lane}", waiter)
        except self._redis_errors:
            logger.warning("Could not remove a %s waiter from the rate limiter; it expires by itself", lane)

    def report_429(self, retry_after: float | None, granted_at: float | None) -> tuple[float, float, bool, int]:
        c = self.config
        args = [
            *self._common(),
            repr(-1.0 if retry_after is None else max(retry_after, 0.0)),
            repr(-1.0 if granted_at is None else granted_at),
            repr(c.max_cooldown),
            repr(c.strike_memory),
            repr(c.max_slowdown),
            _REDUCTION,
        ]
        remaining, slowdown, lowered, strikes = self._run(self._report, args)
        return float(remaining), float(slowdown), bool(int(lowered)), int(strikes)

    def state(self) -> LimiterState:
        c = self.config
        now, slowdown, cooldown, reason, strikes, waiters, rows = self._run(self._state, [*self._common(), repr(c.strike_memory)])
        now, slowdown = float(now), float(slowdown)
        window = c.window * slowdown
        recent = {lane.value: 0 for lane in LANES}
        used = in_flight = 0
        for member, score in zip(rows[::2], rows[1::2], strict=True):
            lane = _text(member).partition(":")[0]
            at = float(score)
            if at > now - c.usage_horizon and lane in recent:
                recent[lane] += 1
            if at > now - window:
                used += 1
            if at > now:
                in_flight += 1
        return LimiterState(
            backend=self.name,
            limit=c.limit,
            window=c.window,
            effective_limit=c.limit,
            effective_window=window,
            effective_rate=c.limit / window,
            slowdown=slowdown,
            cooldown_remaining=float(cooldown),
            reduction_reason=_text(reason),
            strikes=int(strikes),
            used_in_window=used,
            in_flight=in_flight,
            usage_horizon=c.usage_horizon,
            recent_by_lane=recent,
            waiters_by_lane={lane.value: int(n) for lane, n in zip(LANES, waiters, strict=True)},
        )

    def clear(self) -> None:
        """Forget everything (tests and `manage.py` helpers only)."""
        self._redis.delete(*self._keys)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# --- the process-wide limiter ---------------------------------------------------------------------


def limiter_create(*, redis_url: str | None = None, config: LimiterConfig | None = None, prefix: str | None = None) -> Limiter:
    """A limiter on Redis when a URL is given, otherwise in-process."""
    config = config or LimiterConfig()
    prefix = prefix or "rentengine:limiter:"
    backend: _Backend = RedisBackend(redis_url, config, prefix=prefix) if redis_url else MemoryBackend(config, prefix=prefix)
    return Limiter(backend, config)


_shared: tuple[tuple[Any, ...], Limiter] | None = None
_shared_lock = threading.Lock()


def get_limiter() -> Limiter:
    """The limiter every RentEngine request in this process goes through, built from settings."""
    from django.conf import settings

    global _shared
    key = (settings.REDIS_URL, settings.RENTENGINE_RATE_LIMIT, settings.RENTENGINE_RATE_WINDOW_SECONDS)
    with _shared_lock:
        if _shared is None or _shared[0] != key:
            config = LimiterConfig(limit=settings.RENTENGINE_RATE_LIMIT, window=settings.RENTENGINE_RATE_WINDOW_SECONDS)
            _shared = (key, limiter_create(redis_url=settings.REDIS_URL or None, config=config))
        return _shared[1]


def state() -> LimiterState:
    """The shared limiter's state, for the /sync/ page."""
    return get_limiter().state()
