"""Rate limits for the public links (/l, /a, /u): per client address and per link token.

A sliding window, in memory, per process: the public pages are served by the one `nanolearn
serve` process, and a restart forgets the counts, which is harmless for a limit this coarse.
The window is approximated from two fixed windows (the current one, plus the previous one
weighted by how much of it still overlaps), so memory is two counters per key and a flood of
new addresses or tokens cannot grow it without bound.

The address limit is generous because a whole workplace may reach us through one NAT address
(PUBLIC_RATE_PER_ADDRESS; README "Rate limits" says how to size it); the token limit is tight
because one e-mail's links are opened a few times at most (PUBLIC_RATE_PER_TOKEN).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.core.config import Settings
from app.core.ratelimit import SlidingWindowLimiter

PER_ADDRESS = 3000  # default requests per minute from one client address (a setting)
PER_TOKEN = 30  # default requests per minute for one e-mail's links (a setting)


@dataclass
class PublicLimits:
    """The two limits every public request passes."""

    by_address: SlidingWindowLimiter
    by_token: SlidingWindowLimiter

    @classmethod
    def default(cls) -> PublicLimits:
        return cls(SlidingWindowLimiter(PER_ADDRESS), SlidingWindowLimiter(PER_TOKEN))

    @classmethod
    def from_settings(cls, settings: Settings) -> PublicLimits:
        return cls(
            SlidingWindowLimiter(settings.public_rate_per_address),
            SlidingWindowLimiter(settings.public_rate_per_token),
        )

    def check(self, address: str, token: str, now: datetime) -> int | None:
        """None when the request may go on, else Retry-After in seconds."""
        wait = self.by_address.hit(f"addr:{address}", now)
        if wait is None:
            wait = self.by_token.hit(f"token:{token[:100]}", now)
        return wait
