"""Failed sign-ins per client address, for the API's bearer keys and the dashboard's form alike.

After `auth_failure_limit` wrong keys within `auth_failure_window_seconds` from one address,
that address gets 429 with Retry-After, before its key is even looked at, until enough of the
failures have aged out of the window. Both surfaces take the same keys, so they share one count
per address: switching surface gains an attacker nothing. Successful sign-ins are not counted
and not slowed, and a success does not wipe the count (one good key must not buy more guesses).

The counts live in this process's memory (the sliding window of the public pages' rate limits):
a restart forgets them, and each process counts for itself. Every failure is logged with the
key's public prefix when it has one (never the key) and a per-process pseudonym of the address
(never the address), and counted in /metrics by surface.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime
from typing import Literal

from fastapi import Request

from app.auth.service import visible_prefix
from app.core.config import Settings
from app.core.metrics import AUTH_FAILURES, AUTH_THROTTLED
from app.core.ratelimit import SlidingWindowLimiter

log = logging.getLogger(__name__)

Surface = Literal["api", "dashboard"]


class FailureThrottle:
    def __init__(self, limit: int, window_seconds: int, max_addresses: int = 100_000) -> None:
        self.failures = SlidingWindowLimiter(limit, window_seconds, max_addresses)
        # Pseudonyms for the log: stable within this process, unlinkable to the address.
        self._salt = secrets.token_bytes(16)

    @classmethod
    def from_settings(cls, settings: Settings) -> FailureThrottle:
        return cls(settings.auth_failure_limit, settings.auth_failure_window_seconds)

    def retry_after(self, surface: Surface, address: str, now: datetime) -> int | None:
        """None when the address may try a key, else the seconds it must wait."""
        wait = self.failures.waiting(address, now)
        if wait is not None:
            AUTH_THROTTLED.labels(surface).inc()
        return wait

    def failed(self, surface: Surface, address: str, presented: str, now: datetime) -> None:
        """Count one wrong key from the address; log it without the key or the address."""
        self.failures.hit(address, now)
        AUTH_FAILURES.labels(surface).inc()
        log.warning(
            "sign-in with a wrong API key",
            extra={
                "surface": surface,
                "key_prefix": visible_prefix(presented),
                "client": self.pseudonym(address),
                "throttled": self.failures.waiting(address, now) is not None,
            },
        )

    def pseudonym(self, address: str) -> str:
        return hmac.new(self._salt, address.encode(), hashlib.sha256).hexdigest()[:10]


def auth_throttle(request: Request) -> FailureThrottle:
    throttle: FailureThrottle = request.app.state.auth_throttle
    return throttle
