"""Rate limits for the public links (/l, /a, /u): per client address and per link token.

A sliding window, in memory, per process: the public pages are served by the one `nanolearn
serve` process, and a restart forgets the counts, which is harmless for a limit this coarse.
The window is approximated from two fixed windows (the current one, plus the previous one
weighted by how much of it still overlaps), so memory is two counters per key and a flood of
new addresses or tokens cannot grow it without bound.

The address limit is generous because a whole municipality may reach us through one NAT
address; the token limit is tight because one e-mail's links are opened a few times at most.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

PER_ADDRESS = 600  # requests per window from one client address
PER_TOKEN = 30  # requests per window for one e-mail's links
WINDOW_SECONDS = 60


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
        return counts.previous * (1 - into / self.window) + counts.current

    def _wait(self, counts: _Counts, into: float) -> int:
        """Whole seconds until the estimate is below the limit again (Retry-After)."""
        if counts.current < self.limit:
            # In this window, as the previous window's share fades: solve for the time.
            fade = 1 - (self.limit - counts.current) / counts.previous
            seconds = self.window * fade - into
        else:
            # In the next window, as this window's count fades in turn.
            seconds = self.window - into + self.window * (1 - self.limit / counts.current)
        return max(1, math.floor(seconds) + 1)

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


@dataclass
class PublicLimits:
    """The two limits every public request passes."""

    by_address: SlidingWindowLimiter
    by_token: SlidingWindowLimiter

    @classmethod
    def default(cls) -> PublicLimits:
        return cls(SlidingWindowLimiter(PER_ADDRESS), SlidingWindowLimiter(PER_TOKEN))

    def check(self, address: str, token: str, now: datetime) -> int | None:
        """None when the request may go on, else Retry-After in seconds."""
        wait = self.by_address.hit(f"addr:{address}", now)
        if wait is None:
            wait = self.by_token.hit(f"token:{token[:100]}", now)
        return wait
