"""One rate limiter for every process that talks to RentEngine: take a slot before each request.

`rules.py` says when a slot may be granted (the only place the policy lives), `stores.py` where the
shared state lives (memory, a file, Redis), `slots.py` how a caller waits for its slot.
"""

from integrations.rentengine.limiter.rules import (
    Grant,
    Lane,
    LimiterConfig,
    LimiterError,
    LimiterState,
    LimiterUnavailable,
    SlotTimeout,
)
from integrations.rentengine.limiter.slots import Limiter, get_limiter, limiter_create, limiter_state

__all__ = [
    "Grant",
    "Lane",
    "Limiter",
    "LimiterConfig",
    "LimiterError",
    "LimiterState",
    "LimiterUnavailable",
    "SlotTimeout",
    "get_limiter",
    "limiter_create",
    "limiter_state",
]
