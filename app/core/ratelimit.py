"""A sliding-window counter per key, in memory, per process (the throttle on failed sign-ins),
and its window arithmetic (`estimate`, `wait_seconds`), which the public pages' limits use with
their counts in the database (app/tracking/ratelimit.py).

The window is approximated from two fixed windows (the current one, plus the previous one
weighted by how much of it still overlaps), so memory is two counters per key, and the number
of keys is capped (least recently used go first), so a flood of new keys cannot grow it.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

WINDOW_SECONDS = 60


def estimate(previous: int, current: int, into: float, window: int) -> float:
    """Requests in the sliding window ending `into` seconds into the current fixed window."""
    return previous * (1 - into / window) + current


def wait_seconds(previous: int, current: int, into: float, window: int, limit: int) -> int:
    """Whole seconds until the estimate is below `limit` again (Retry-After); only called
    when it is at or over the limit now."""
    if current < limit:
        # In this window, as the previous window's share fades: solve for the time.
        fade = 1 - (limit - current) / previous
        seconds = window * fade - into
    else:
        # In the next window, as this window's count fades in turn.
        seconds = window - into + window * (1 - limit / current)
    return max(1, math.floor(seconds) + 1)


@dataclass
class _Counts:
    index: int  # which fixed window `current` counts
    current: int
    previous: int


class SlidingWindowLimiter:
    """At most `limit` requests per key in any `window` seconds (approximately; see above)."""

    def __init__(self, limit: int, window: int = WINDOW_SECONDS, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._keys: OrderedDict[str, _Counts] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, now: datetime) -> int | None:
        """Count one request; None when it is allowed, else the seconds to wait."""
        seconds = now.timestamp()
        index, into = divmod(seconds, self.window)
        with self._lock:
            counts = self._advance(key, int(index))
            if self._estimate(counts, into) >= self.limit:
                return self._wait(counts, into)
            counts.current += 1
            return None

    def waiting(self, key: str, now: datetime) -> int | None:
        """Like `hit` without counting: None while `key` is under the limit, else the wait."""
        index, into = divmod(now.timestamp(), self.window)
        with self._lock:
            if key not in self._keys:
                return None  # a key never counted stays unknown: looking costs no memory
            counts = self._advance(key, int(index))
            if self._estimate(counts, into) >= self.limit:
                return self._wait(counts, into)
            return None

    def _estimate(self, counts: _Counts, into: float) -> float:
        return estimate(counts.previous, counts.current, into, self.window)

    def _wait(self, counts: _Counts, into: float) -> int:
        return wait_seconds(counts.previous, counts.current, into, self.window, self.limit)

    def _advance(self, key: str, index: int) -> _Counts:
        counts = self._keys.pop(key, None)
        if counts is None or counts.index < index - 1:
            counts = _Counts(index, 0, 0)
        elif counts.index == index - 1:
            counts = _Counts(index, 0, counts.current)
        self._keys[key] = counts  # most recently used last
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
        return counts
