"""The limiter on Redis: every decision is one Lua script, so every process on every host shares it.

The rules are those of `limiter_local.py` (which runs them in Python for one machine), written once
more in Lua because a script is the only way to make a Redis read-modify-write atomic. The clock is
Redis's own `TIME`, so workers on different hosts share one clock; a stored `last_ts` keeps it from
going backwards. Used when `settings.REDIS_URL` is set.
"""

from __future__ import annotations

import logging
from typing import Any

from integrations.rentengine.limiter_core import (
    LANES,
    RECOVERY,
    REDUCTION,
    Attempt,
    Lane,
    LimiterConfig,
    LimiterState,
    LimiterUnavailable,
)

# The front end's logger, so that logging configuration for the limiter covers every part of it.
logger = logging.getLogger("integrations.rentengine.limiter")

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
        return [c.limit, repr(c.window), repr(c.recovery_quiet), repr(c.usage_horizon), RECOVERY]

    def _run(self, script: Any, args: list[Any]) -> Any:
        try:
            return script(keys=self._keys, args=args)
        except self._redis_errors as exc:
            raise LimiterUnavailable(
                f"the shared RentEngine rate limiter (Redis at REDIS_URL) is unreachable: {exc}; "
                "no request is sent without it, so that processes never exceed the limit together"
            ) from exc

    def attempt(self, lane: Lane, waiter: str, slot: str) -> Attempt:
        args = [*self._common(), LANES.index(lane) + 1, waiter, slot, repr(self.config.waiter_ttl), repr(self.config.hold)]
        granted, at, wait, why, slowdown = self._run(self._acquire, args)
        return Attempt(bool(int(granted)), float(at), float(wait), _text(why), float(slowdown))

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
            REDUCTION,
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
