"""The rate limiter's vocabulary, shared by its front end (`limiter.py`) and every backend.

Lanes, grants, the configuration, the state the /sync/ page shows, the errors, and the wording of a
slowdown. Import these from `integrations.rentengine.limiter`, which re-exports them; this module
exists so that the backends can use them without importing the front end.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Protocol


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


# One wording for every backend: %-style so the Redis script can format it with string.format.
REDUCTION = (
    "slowed to %d requests per %g s (configured %d per %g s) after %d rate-limit responses (429) within %g s "
    "although we paced: RentEngine's real window may be longer than %g s"
)
RECOVERY = "recovering: %d requests per %g s after %g s without a 429 (configured %d per %g s)"


def reduction_reason(config: LimiterConfig, slowdown: float, strikes: int) -> str:
    c = config
    return REDUCTION % (c.limit, c.window * slowdown, c.limit, c.window, strikes, c.strike_memory, c.window)


def recovery_reason(config: LimiterConfig, slowdown: float) -> str:
    c = config
    return RECOVERY % (c.limit, c.window * slowdown, c.recovery_quiet, c.limit, c.window)


@dataclass
class Attempt:
    """One try for a slot, as a backend answers it."""

    granted: bool
    at: float  # grant time when granted
    wait: float  # hint: seconds until trying again makes sense
    why: str  # granted | cooldown | priority | window
    slowdown: float


class Backend(Protocol):
    """What the front end needs from a store. Every method is one atomic read-modify-write."""

    name: str

    def attempt(self, lane: Lane, waiter: str, slot: str) -> Attempt: ...
    def release(self, slot: str) -> None: ...
    def unregister(self, lane: Lane, waiter: str) -> None: ...
    def report_429(self, retry_after: float | None, granted_at: float | None) -> tuple[float, float, bool, int]: ...
    def state(self) -> LimiterState: ...
    def clear(self) -> None: ...
