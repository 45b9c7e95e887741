"""Per-token sliding-window rate limit: at most `limit` accepted requests in any `window` seconds.

Only accepted requests take a place in the window (a 429 does not), so "never more than N requests
in any window" can be checked from the request log by counting the non-429 answers. Retry-After is
the whole seconds until the oldest accepted request leaves the window (at least 1).
"""

from __future__ import annotations

import math
import time
from collections import deque

from .config import RateLimit


class SlidingWindow:
    def __init__(self, settings: RateLimit) -> None:
        self.settings = settings
        self.windows: dict[str, deque[float]] = {}

    def admit(self, token: str, now: float | None = None) -> int | None:
        """None when the request may go ahead (and is counted); otherwise the Retry-After seconds."""
        limit = self.settings.limit
        if limit is None:
            return None
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
