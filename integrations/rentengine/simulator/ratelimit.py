"""Per-token sliding-window rate limit: at most `limit` accepted requests in any `window` seconds.

Only accepted requests take a place in the window (a 429 does not), so "never more than N requests
in any window" can be checked from the request log by counting the non-429 answers. Retry-After is
the whole seconds until the oldest accepted request leaves the window (at least 1). Two faults play
a budget shared with others: a noisy `neighbour` holds places of every window, and spurious 429s
(half bare, half with Retry-After: 1) answer a share of requests whatever the rate.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque

from .config import RateLimit


class SlidingWindow:
    def __init__(self, settings: RateLimit, *, seed: int = 0) -> None:
        self.settings = settings
        self.windows: dict[str, deque[float]] = {}
        self.rng = random.Random(f"ratelimit:{seed}")

    def admit(self, token: str, now: float | None = None) -> int | None:
        """None when the request may go ahead (and is counted); otherwise the Retry-After seconds,
        0 for a 429 without a Retry-After header."""
        if self.settings.spurious_429 and self.rng.random() < self.settings.spurious_429:
            return self.rng.choice((0, 1))
        if self.settings.limit is None:
            return None
        limit = self.settings.limit - self.settings.neighbour
        now = time.monotonic() if now is None else now
        window = self.windows.setdefault(token, deque())
        horizon = now - self.settings.window
        while window and window[0] <= horizon:
            window.popleft()
        if len(window) >= limit:
            return max(1, math.ceil(window[0] - horizon))
        window.append(now)
        return None

    def reset(self) -> None:
        self.windows.clear()
