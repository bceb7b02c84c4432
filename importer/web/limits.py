"""Limits on failed sign-ins, per login and per client address.

Each login has its own small allowance, so one clerk's typos lock only
that login, never the others; each client address has a larger one (an
office's clerks may share one address behind a router), which stops one
machine from trying many logins.  Only failures count, a success clears its
login's count, and the clerk is told how long to wait.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]

#: Keys remembered at most (oldest forgotten first), so a flood of made-up logins cannot fill memory.
MAX_KEYS = 10_000


class AttemptLimiter:
    """At most ``limit`` failures per key within ``window`` seconds (a sliding window)."""

    def __init__(self, limit: int, window: float, clock: Clock = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds before ``key`` may try again; 0 when it may try now."""
        now = self.clock()
        with self._lock:
            times = self._recent(key, now)
            if len(times) < self.limit:
                return 0.0
            return max(0.0, times[-self.limit] + self.window - now)

    def failed(self, key: str) -> None:
        """Count one failure for ``key``."""
        now = self.clock()
        with self._lock:
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times
            while len(self._failures) > MAX_KEYS:
                del self._failures[next(iter(self._failures))]

    def succeeded(self, key: str) -> None:
        """Forget ``key``'s failures (the clerk typed it right in the end)."""
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times


def minutes(seconds: float) -> str:
    """``1 minute``, ``14 minutes``: a wait rounded up to whole minutes."""
    n = max(1, math.ceil(seconds / 60))
    return f"{n} minute" if n == 1 else f"{n} minutes"
