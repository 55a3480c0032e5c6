"""Posting statements to a learning record store (xAPI 1.0.3, basic auth), with retries.

- 2xx: stored (an LRS ignores a statement id it already has with the same content).
- 5xx, 408, 429 and lost connections: tried again with exponential backoff and jitter, up to
  `lrs_max_attempts`; then LrsUnavailable, and the caller stops until its next run.
- 401, 403, 404, 405: our settings are wrong (credentials, URL), not the statements:
  LrsRefused, nothing is marked failed, and forwarding resumes once the settings are fixed.
- any other 4xx: some statement was refused. The batch is split in halves until the refused
  statements are found, so one bad statement does not hold back the good ones.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from app.core.config import Settings
from app.xapi.statements import Statement
from app.xapi.vocab import XAPI_VERSION

TRANSIENT = frozenset({408, 429})
MISCONFIGURED = frozenset({401, 403, 404, 405})
MAX_ERROR_TEXT = 300


class LrsUnavailable(Exception):
    """The LRS did not take the batch after every retry."""


class LrsRefused(Exception):
    """The LRS refuses us (credentials or URL), whatever the statements."""


@dataclass(frozen=True)
class Rejection:
    statement_id: str
    status: int
    reason: str


def lrs_configured(settings: Settings) -> bool:
    return bool(settings.lrs_url and settings.lrs_username and settings.lrs_password)


def lrs_label(url: str) -> str:
    """Host and path, never credentials: for logs and the audit log."""
    parts = urlsplit(url)
    return f"{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}".rstrip("/")


class LrsClient:
    def __init__(self, settings: Settings, sleep: Callable[[float], None] = time.sleep) -> None:
        assert settings.lrs_password is not None
        self.url = settings.lrs_url.rstrip("/") + "/statements"
        self.max_attempts = settings.lrs_max_attempts
        self.retry_seconds = settings.lrs_retry_seconds
        self.sleep = sleep
        self.http = httpx.Client(
            auth=(settings.lrs_username, settings.lrs_password.get_secret_value()),
            headers={"X-Experience-API-Version": XAPI_VERSION},
            timeout=settings.lrs_timeout_seconds,
        )

    def close(self) -> None:
        self.http.close()

    def deliver(self, statements: Sequence[Statement]) -> list[Rejection]:
        """Stores what the LRS takes; returns the statements it refused for good."""
        status, text = self._post(statements)
        if status < 300:
            return []
        if len(statements) == 1:
            return [Rejection(str(statements[0]["id"]), status, text[:MAX_ERROR_TEXT])]
        half = len(statements) // 2
        return self.deliver(statements[:half]) + self.deliver(statements[half:])

    def _post(self, statements: Sequence[Statement]) -> tuple[int, str]:
        problem = ""
        for attempt in range(self.max_attempts):
            if attempt:
                # Backoff doubles each time; the jitter spreads workers that failed together.
                self.sleep(self.retry_seconds * 2 ** (attempt - 1) * random.uniform(0.5, 1.0))
            try:
                response = self.http.post(self.url, json=list(statements))
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code in MISCONFIGURED:
                raise LrsRefused(f"{response.status_code} {response.text[:MAX_ERROR_TEXT]}")
            if response.status_code >= 500 or response.status_code in TRANSIENT:
                problem = f"{response.status_code} {response.text[:MAX_ERROR_TEXT]}"
                continue
            return response.status_code, response.text
        raise LrsUnavailable(f"no answer after {self.max_attempts} attempts: {problem}")
