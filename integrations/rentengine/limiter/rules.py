"""The rate limiter's rules: pure functions of its shared state and a clock reading.

Every store (memory, file, Redis: `stores.py`) runs these same functions inside one atomic
read-modify-write, so one set of rules holds for threads, processes and hosts alike. The promise is
"never more than `limit` requests in any `window` seconds": a sliding-window log of slots, where a
slot counts from its grant until its request completes (RentEngine counts arrivals, which happen
somewhere in between). Higher lanes go first; a 429 pauses everyone, and a run of them slows the
pace (see `report_429`), which then recovers step by step.
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Lane(StrEnum):
    """Who is asking, highest priority first."""

    INTERACTIVE = "interactive"  # a person is waiting on a page action (test connection, availability)
    BULK = "bulk"  # outgoing posts of a bulk assignment
    INCREMENTAL = "incremental"  # cursor-driven sync passes
    BACKFILL = "backfill"  # full passes


LANES: tuple[Lane, ...] = (Lane.INTERACTIVE, Lane.BULK, Lane.INCREMENTAL, Lane.BACKFILL)

MARGIN = 2e-6  # a hair stricter than the window: stamps are compared after float rounding
USAGE_BUCKETS = 12  # per-lane usage is counted in usage_horizon / 12 buckets (5 s at the default 60 s)


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
    """The shared store (Redis, or the limiter file) could not be used; we never fall back to a private budget."""


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

    backend: str  # "redis", "file" or "memory"
    limit: int
    window: float
    effective_limit: int
    effective_window: float
    effective_rate: float  # requests per second
    slowdown: float  # effective window / configured window (1 = full speed)
    cooldown_remaining: float
    reduction_reason: str  # "" when running at the configured rate
    recent_429: int  # 429s in the last usage_horizon seconds
    used_in_window: int  # slots in the last effective window, in-flight ones included
    in_flight: int  # granted, not yet released
    usage_horizon: float
    recent_by_lane: dict[str, int]  # grants in the last usage_horizon seconds
    waiters_by_lane: dict[str, int]
    waited_by_lane: dict[str, float]  # seconds callers waited for their slots, in all (a counter)
    granted_by_lane: dict[str, int]  # slots granted, in all (a counter)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LimiterConfig:
    limit: int = 28
    window: float = 5.0
    waiter_ttl: float = 3.0  # a waiter that stops refreshing its registration is gone after this
    max_sleep: float = 0.5  # longest single sleep while waiting (keeps the registration fresh)
    yield_sleep: float = 0.02  # sleep of a caller that gave way to a higher lane
    max_cooldown: float = 60.0  # cap on Retry-After
    bare_pause: float = 1.0  # a 429 without Retry-After pauses about this many windows (with jitter)
    max_slowdown: float = 12.0  # 28 per 60 s at most: the slowest reading of RentEngine's window
    decrease: float = 1.25  # a slowdown divides the rate by this
    decrease_share: float = 0.1  # ... when more than this share of recent requests got a 429
    share_horizon: float = 30.0  # "recent", in seconds
    recovery_steps: int = 11  # from the slowest rate back to the configured one in this many windows
    usage_horizon: float = 60.0  # how far back per-lane usage is reported
    hold: float = 60.0  # an unreleased slot (process died mid-request) counts this long; > any request

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= 0:
            raise ValueError(f"a rate limit needs limit >= 1 and window > 0, got {self.limit} per {self.window} s")
        if self.max_sleep >= self.waiter_ttl:
            raise ValueError("max_sleep must be shorter than waiter_ttl, or live waiters would expire while sleeping")

    @property
    def rate(self) -> float:
        """The configured rate, requests per second."""
        return self.limit / self.window


def _pace(c: LimiterConfig, slowdown: float) -> str:
    return f"{c.rate / slowdown * 60:.0f} requests a minute (configured {c.rate * 60:.0f})"


def reduction_reason(c: LimiterConfig, slowdown: float, refused: int, requests: int) -> str:
    return (
        f"slowed to {_pace(c, slowdown)}: {refused} of the last {requests} requests got a 429, "
        "so the budget is shared with another client or RentEngine counts a longer window"
    )


def recovery_reason(c: LimiterConfig, slowdown: float) -> str:
    return f"recovering at {_pace(c, slowdown)}: a step back up every {c.window:g} s without a slowdown"


@dataclass(frozen=True)
class Attempt:
    """One try for a slot."""

    granted: bool
    at: float  # grant time when granted
    wait: float  # hint: seconds until trying again makes sense
    why: str  # granted | cooldown | priority | window
    slowdown: float


@dataclass(frozen=True)
class Report429:
    remaining: float  # seconds of cooldown left
    slowdown: float
    lowered: bool  # this 429 slowed the pace down
    refused: int  # 429s among the recent requests, this one included
    requests: int  # recent requests


def _minus_infinity() -> float:
    return float("-inf")


@dataclass
class Shared:
    """Everything the rules remember, kept small (stores read and write all of it per call).

    The log is split in two: `flying` holds the slots in flight (stamped now + hold until released),
    `done` the completion stamps of finished ones, of which only the newest `limit` are kept (an
    older one can never decide a grant). Per-lane usage is counted in coarse time buckets.
    """

    done: list[float] = field(default_factory=list)  # completion stamps, ascending
    flying: dict[str, float] = field(default_factory=dict)  # slot -> now + hold
    waiters: list[dict[str, float]] = field(default_factory=lambda: [{} for _ in LANES])  # per lane: waiter -> expiry
    usage: list[list[list[int]]] = field(default_factory=lambda: [[] for _ in LANES])  # per lane: [bucket, grants]
    refused: list[list[int]] = field(default_factory=list)  # [bucket, 429s]
    waited: list[float] = field(default_factory=lambda: [0.0 for _ in LANES])  # per lane: seconds waited, in all
    granted: list[int] = field(default_factory=lambda: [0 for _ in LANES])  # per lane: slots granted, in all
    cooldown_until: float = 0.0
    slowdown: float = 1.0
    decreased_at: float = field(default_factory=_minus_infinity)
    last_429_at: float = field(default_factory=_minus_infinity)
    changed_at: float = field(default_factory=_minus_infinity)
    reason: str = ""


def _tidy(s: Shared, c: LimiterConfig, now: float) -> None:
    """Slow recovery, expiry of dead waiters and of unreleased slots, and pruning of the log."""
    # Additive recovery: one step of the rate per window since the last change; a quarter step for a
    # window that still saw a 429 which did not warrant a slowdown (spurious ones must not pin the pace
    # down, nor push it back into the limit at full speed).
    step = c.rate * (1 - 1 / c.max_slowdown) / c.recovery_steps
    while s.slowdown > 1 and now - s.changed_at >= c.window:
        quiet = s.last_429_at <= s.changed_at
        s.slowdown = max(1.0, c.rate / (c.rate / s.slowdown + (step if quiet else step / 4)))
        s.changed_at += c.window
        s.reason = "" if s.slowdown <= 1 else recovery_reason(c, s.slowdown)
    for registrations in s.waiters:
        for waiter in [w for w, expires in registrations.items() if expires <= now]:
            del registrations[waiter]
    # A slot whose hold ran out (its process died mid-request) is an ordinary entry from now on.
    for slot in [slot for slot, stamp in s.flying.items() if stamp <= now]:
        bisect.insort(s.done, s.flying.pop(slot))
    longest = c.window * max(s.slowdown, c.max_slowdown)  # a 429 may widen the window at any time
    drop = max(bisect.bisect_right(s.done, now - longest - MARGIN), len(s.done) - c.limit)
    if drop > 0:
        del s.done[:drop]
    width = c.usage_horizon / USAGE_BUCKETS
    for buckets in [*s.usage, s.refused]:
        while buckets and (buckets[0][0] + 1) * width <= now - c.usage_horizon:
            buckets.pop(0)


def _bucket(c: LimiterConfig, now: float) -> int:
    return int(now // (c.usage_horizon / USAGE_BUCKETS))


def _count(buckets: list[list[int]], since: int) -> int:
    return sum(n for bucket, n in buckets if bucket >= since)


def _paced(c: LimiterConfig, slowdown: float) -> tuple[int, float]:
    """The effective limit and window of a slowdown: fewer requests per window (not a longer window
    for the same burst), so that no burst is larger than the pace allows."""
    limit = max(1, round(c.limit / slowdown))
    return limit, c.window * limit * slowdown / c.limit


def attempt(s: Shared, c: LimiterConfig, now: float, lane: Lane, waiter: str, slot: str, waited: float = 0.0) -> Attempt:
    """Grant `slot` now, or register `waiter` in its lane and say how long to wait (`waited`: so far)."""
    _tidy(s, c, now)
    index = LANES.index(lane)
    limit, window = _paced(c, s.slowdown)

    def wait(seconds: float, why: str) -> Attempt:
        s.waiters[index][waiter] = now + c.waiter_ttl
        return Attempt(False, now, max(seconds, 0.0), why, s.slowdown)

    if s.cooldown_until > now:
        return wait(s.cooldown_until - now, "cooldown")
    if any(s.waiters[higher] for higher in range(index)):
        return wait(0.0, "priority")
    # Ascending: finished stamps are <= now, and after _tidy every slot in flight is stamped > now.
    in_window = s.done[bisect.bisect_right(s.done, now - window - MARGIN) :] + sorted(s.flying.values())
    if len(in_window) >= limit:
        return wait(in_window[len(in_window) - limit] + window + MARGIN - now, "window")
    s.flying[slot] = now + c.hold
    s.waiters[index].pop(waiter, None)
    s.waited[index] += waited
    s.granted[index] += 1
    bucket = _bucket(c, now)
    buckets = s.usage[index]
    if buckets and buckets[-1][0] == bucket:
        buckets[-1][1] += 1
    else:
        buckets.append([bucket, 1])
    return Attempt(True, now, 0.0, "granted", s.slowdown)


def release(s: Shared, c: LimiterConfig, now: float, slot: str) -> None:
    """The slot's request is over: from now on it counts from its completion time."""
    stamp = s.flying.pop(slot, None)
    if stamp is not None:
        bisect.insort(s.done, min(stamp, now))


def unregister(s: Shared, c: LimiterConfig, now: float, lane: Lane, waiter: str) -> None:
    s.waiters[LANES.index(lane)].pop(waiter, None)


def report_429(
    s: Shared, c: LimiterConfig, now: float, retry_after: float | None, granted_at: float | None, jitter: float = 0.5
) -> Report429:
    """A 429 pauses every caller: exactly `Retry-After` (capped), or without it about one window
    (`bare_pause`, with `jitter` in [0, 1) spreading it by a quarter either way), never minutes; a
    lone bare 429 only until the window has room for us again.

    It slows the pace down (multiplicatively) only when a run of them says our pace is the cause: at
    least `decrease_share` of the recent requests refused, and this request granted after the last
    slowdown (requests already in flight then belong to the same episode). A lone 429 among many
    accepted requests (a gateway's hiccup) pauses, but does not slow down.
    """
    _tidy(s, c, now)
    s.last_429_at = now
    bucket = _bucket(c, now)
    if s.refused and s.refused[-1][0] == bucket:
        s.refused[-1][1] += 1
    else:
        s.refused.append([bucket, 1])
    since = _bucket(c, now - c.share_horizon) + 1
    refused = _count(s.refused, since)
    requests = max(refused, sum(_count(buckets, since) for buckets in s.usage))
    ours = refused > c.decrease_share * requests  # a run of 429s: our pace is the cause
    if retry_after is not None:
        pause = min(max(retry_after, 0.0), c.max_cooldown)
    elif ours:
        pause = min(c.window * c.bare_pause, c.max_cooldown) * (0.75 + 0.5 * jitter)
    else:
        # A lone 429: wait until our oldest request of the window has left it (a sliding window
        # has room again then), at least a tenth of a window.
        limit, window = _paced(c, s.slowdown)
        recent = s.done[bisect.bisect_right(s.done, now - window) :]
        frees = recent[0] + window - now if len(recent) >= limit else 0.0
        pause = min(max(frees, c.window / 10), c.window * c.bare_pause) * (0.75 + 0.5 * jitter)
    s.cooldown_until = max(s.cooldown_until, now + pause)
    granted = now if granted_at is None else granted_at
    lowered = False
    if granted >= s.decreased_at and ours and s.slowdown < c.max_slowdown:
        s.slowdown = min(c.max_slowdown, s.slowdown * c.decrease)
        s.decreased_at = s.changed_at = now
        s.reason = reduction_reason(c, s.slowdown, refused, requests)
        lowered = True
    return Report429(s.cooldown_until - now, s.slowdown, lowered, refused, requests)


def snapshot(s: Shared, c: LimiterConfig, now: float, backend: str) -> LimiterState:
    _tidy(s, c, now)
    limit, window = _paced(c, s.slowdown)
    used = len(s.done) - bisect.bisect_right(s.done, now - window) + len(s.flying)
    return LimiterState(
        backend=backend,
        limit=c.limit,
        window=c.window,
        effective_limit=limit,
        effective_window=window,
        effective_rate=limit / window,
        slowdown=s.slowdown,
        cooldown_remaining=max(s.cooldown_until - now, 0.0),
        reduction_reason=s.reason,
        recent_429=_count(s.refused, 0),
        used_in_window=used,
        in_flight=len(s.flying),
        usage_horizon=c.usage_horizon,
        recent_by_lane={lane.value: sum(n for _, n in s.usage[i]) for i, lane in enumerate(LANES)},
        waiters_by_lane={lane.value: len(s.waiters[i]) for i, lane in enumerate(LANES)},
        waited_by_lane={lane.value: s.waited[i] for i, lane in enumerate(LANES)},
        granted_by_lane={lane.value: s.granted[i] for i, lane in enumerate(LANES)},
    )


def forget(s: Shared, c: LimiterConfig, now: float) -> None:
    """Start afresh (tests and operators only)."""
    s.__dict__.update(Shared().__dict__)
