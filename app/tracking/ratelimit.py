"""Rate limits for the public links (/l, /a, /u): per client address and per link token.

The counts live in the database (`public_hits`), so the limits hold across every serving
process (`nanolearn serve --workers N`). The gate (app/tracking/gate.py) counts a whole group
of requests at once: it adds every request to its keys' counts and reads what the counts were
before (one statement on PostgreSQL), decides, and takes the refused requests back out in the
same transaction. A request that is refused is not counted, so waiting the Retry-After is
always enough.

The window slides, approximated from two fixed windows (the current one, plus the previous one
weighted by how much of it still overlaps): two rows per key, and rows of older windows are
deleted as the windows move on, so a flood of new addresses or tokens cannot grow the table.
Keys are keyed hashes: neither an address nor a token is stored in clear.

The address limit is generous because a whole workplace may reach us through one NAT address
(PUBLIC_RATE_PER_ADDRESS; README "Rate limits" says how to size it); the token limit is tight
because one e-mail's links are opened a few times at most (PUBLIC_RATE_PER_TOKEN).
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Table, delete, func, select, text
from sqlalchemy.orm import Session

from app.core.bulk import add_to_rows, json_rows, one_of, upsert_sql
from app.core.config import Settings
from app.core.ratelimit import WINDOW_SECONDS, estimate, wait_seconds
from app.tracking.models import PublicHit

PER_ADDRESS = 3000  # default requests per minute from one client address (a setting)
PER_TOKEN = 30  # default requests per minute for one e-mail's links (a setting)
_BLOCKED_KEYS = 10_000  # refusals remembered in memory at most, per process


def hit_key(secret: bytes, kind: str, value: str) -> str:
    """`kind` ("a" address, "t" token) and a keyed hash of the value: 33 characters."""
    digest = hashlib.blake2b(value[:300].encode(), key=secret[:64], digest_size=16)
    return kind + digest.hexdigest()


@dataclass
class PublicLimits:
    """The two limits every public request passes, and refusals remembered in memory (a
    refused key stays refused until its Retry-After, so a flood costs no database work)."""

    per_address: int = PER_ADDRESS
    per_token: int = PER_TOKEN
    window: int = WINDOW_SECONDS
    _blocked: dict[str, float] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> PublicLimits:
        return cls(settings.public_rate_per_address, settings.public_rate_per_token)

    def limit_of(self, key: str) -> int:
        return self.per_address if key.startswith("a") else self.per_token

    def blocked(self, keys: Iterable[str], now: datetime) -> int | None:
        """Seconds to wait when one of `keys` was refused and its wait is not over."""
        moment = now.timestamp()
        with self._lock:
            for key in keys:
                until = self._blocked.get(key)
                if until is not None and until > moment:
                    return max(1, round(until - moment))
        return None

    def remember(self, key: str, now: datetime, wait: int) -> None:
        with self._lock:
            if len(self._blocked) >= _BLOCKED_KEYS:
                self._blocked.clear()
            self._blocked[key] = now.timestamp() + wait

    def decide(
        self, requests: Sequence[tuple[str, ...]], counts: dict[str, tuple[int, int]], now: datetime
    ) -> list[int | None]:
        """For each request (its keys, address first), None when it may go on, else the wait.

        `counts` holds each key's (previous, current) window counts before this group; a request
        let through adds one to each of its keys for the requests after it."""
        into = now.timestamp() % self.window
        added: Counter[str] = Counter()
        waits: list[int | None] = []
        for keys in requests:
            wait = None
            for key in keys:
                previous, current = counts.get(key, (0, 0))
                current += added[key]
                limit = self.limit_of(key)
                if estimate(previous, current, into, self.window) >= limit:
                    wait = wait_seconds(previous, current, into, self.window, limit)
                    self.remember(key, now, wait)
                    break
            if wait is None:
                added.update(keys)
            waits.append(wait)
        return waits

    def window_of(self, now: datetime) -> int:
        return int(now.timestamp() // self.window)


# Built once: a statement built per group cost more CPU than the database's work for it.
_PUBLIC_HITS: Table = PublicHit.__table__  # type: ignore[assignment]  # Core: no ORM layer
_READ_COUNTS = select(PublicHit.key, PublicHit.window, PublicHit.count).where(
    one_of(PublicHit.window, "windows"),
    one_of(PublicHit.key, "keys"),
)


def read_counts(session: Session, keys: set[str], window: int) -> dict[str, tuple[int, int]]:
    """(previous, current) window counts of `keys`."""
    counts: dict[str, list[int]] = {}
    rows = session.connection().execute(
        _READ_COUNTS, {"windows": [window - 1, window], "keys": sorted(keys)}
    )
    for key, at, count in rows:
        counts.setdefault(key, [0, 0])[at - window + 1] = count
    return {key: (pair[0], pair[1]) for key, pair in counts.items()}


# PostgreSQL: the group's counts added and the keys' counts read back in one statement (a
# round trip less per group). The upsert locks the keys' rows, so what it returns is exact.
_COUNT_AND_READ = text(
    f"""
    WITH added AS ({upsert_sql(_PUBLIC_HITS, ("key", "window", "count"), "count", ("key", "window", "count"))})
    SELECT key, "window", count FROM added
    UNION ALL
    SELECT key, "window", count FROM public_hits
    WHERE key = ANY(CAST(:keys AS VARCHAR(40)[])) AND "window" = CAST(:previous AS BIGINT)
    """
)


def count_requests(
    session: Session, requested: Counter[str], window: int
) -> dict[str, tuple[int, int]]:
    """Add `requested` to the current window's counts and return each key's (previous,
    current) counts as they stood before. Keys in sorted order, so two processes' groups lock
    the rows in the same order and never deadlock; the rows stay locked until the group
    commits (the burst rule relies on it, app/tracking/visits.py)."""
    keys = sorted(requested)
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        counts = read_counts(session, set(keys), window)
        add_counts(session, requested, window)
        return counts
    rows = [{"key": k, "window": window, "count": requested[k]} for k in keys]
    found: dict[str, list[int]] = {}
    params = {"rows": json_rows(rows), "keys": keys, "previous": window - 1}
    for key, at, count in connection.execute(_COUNT_AND_READ, params):
        pair = found.setdefault(key, [0, 0])
        if at == window:
            pair[1] = count - requested[key]
        else:
            pair[0] = count
    return {key: (pair[0], pair[1]) for key, pair in found.items()}


def add_counts(session: Session, added: Counter[str], window: int) -> None:
    """Add to the current window's counts; keys in sorted order, so two processes' groups lock
    the rows in the same order and never deadlock."""
    rows = [{"window": window, "key": k, "count": added[k]} for k in sorted(added)]
    add_to_rows(session.connection(), _PUBLIC_HITS, rows, adding="count")


def forget_old_windows(session: Session, window: int) -> None:
    session.execute(delete(PublicHit).where(PublicHit.window < window - 1))


def stored_keys(session: Session) -> int:
    """How many counts are kept (for tests: the table stays small)."""
    return int(session.scalar(select(func.count()).select_from(PublicHit)) or 0)
