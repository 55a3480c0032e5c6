"""A relay's rate limit, shared by every worker through the database.

Relays limit how many messages they accept per minute and per hour. Each worker asks the
database for permission before it claims e-mails, so the limit holds however many workers run
(listmonk limits each worker on its own, and the sum overshoots).

Counting is per fixed window (one row per relay, window length and window number), and a
window's allowance is estimated over a sliding window: the previous window's count weighted by
how much of it still overlaps, plus the current count. A full previous window therefore paces
the next one evenly instead of letting it burst at its start.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from app.core.clock import Clock
from app.core.config import Settings
from app.delivery.models import RateWindow


@dataclass(frozen=True)
class RateLimit:
    per: int  # messages …
    seconds: int  # … per this many seconds

    def __post_init__(self) -> None:
        if self.per < 1 or self.seconds < 1:
            raise ValueError("a rate limit needs at least 1 message per at least 1 second")


def limits_from_settings(settings: Settings) -> list[RateLimit]:
    limits = []
    if settings.smtp_rate_per_minute:
        limits.append(RateLimit(settings.smtp_rate_per_minute, 60))
    if settings.smtp_rate_per_hour:
        limits.append(RateLimit(settings.smtp_rate_per_hour, 3600))
    return limits


def _position(limit: RateLimit, now: datetime) -> tuple[int, float]:
    """The window number `now` falls in, and how far into it (0 ≤ fraction < 1)."""
    index, into = divmod(now.timestamp(), limit.seconds)
    return int(index), into / limit.seconds


def _ensure_rows(session: Session, relay: str, keys: list[tuple[int, int]]) -> None:
    """Create missing window rows. On SQLite this first write also takes the database lock,
    so what the transaction reads next cannot change under it."""
    rows = [{"relay": relay, "window_seconds": s, "window_index": i, "used": 0} for s, i in keys]
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(RateWindow).values(rows).on_conflict_do_nothing())


def take(
    session: Session, relay: str, limits: Sequence[RateLimit], now: datetime, want: int
) -> int:
    """Reserve up to `want` sends for `relay` now; returns how many were granted (maybe 0)."""
    if want <= 0 or not limits:
        return max(want, 0)
    ordered = sorted(limits, key=lambda limit: limit.seconds)  # one lock order: no deadlocks
    positions = [_position(limit, now) for limit in ordered]
    current = [(limit.seconds, index) for limit, (index, _) in zip(ordered, positions, strict=True)]
    _ensure_rows(session, relay, current)
    rows = session.execute(
        select(RateWindow.window_seconds, RateWindow.window_index, RateWindow.used)
        .where(
            RateWindow.relay == relay,
            RateWindow.window_seconds.in_([s for s, _ in current]),
            RateWindow.window_index.in_({i for _, i in current} | {i - 1 for _, i in current}),
        )
        .order_by(RateWindow.window_seconds, RateWindow.window_index)
        .with_for_update()
    ).all()
    used = {(s, i): n for s, i, n in rows}
    grant = want
    for limit, (index, fraction) in zip(ordered, positions, strict=True):
        previous = used.get((limit.seconds, index - 1), 0)
        estimate = previous * (1.0 - fraction) + used.get((limit.seconds, index), 0)
        grant = min(grant, max(0, math.floor(limit.per - estimate)))
    if grant:
        _add(session, relay, current, grant)
    _forget_old(session, relay, current)
    return grant


def give_back(
    session: Session, relay: str, limits: Sequence[RateLimit], taken_at: datetime, count: int
) -> None:
    """Return reserved sends that were not used (fewer e-mails were due than reserved)."""
    if count <= 0 or not limits:
        return
    keys = [(limit.seconds, _position(limit, taken_at)[0]) for limit in limits]
    _add(session, relay, sorted(keys), -count)


def _add(session: Session, relay: str, keys: list[tuple[int, int]], count: int) -> None:
    for seconds, index in keys:
        session.execute(
            update(RateWindow)
            .where(
                RateWindow.relay == relay,
                RateWindow.window_seconds == seconds,
                RateWindow.window_index == index,
            )
            .values(used=RateWindow.used + count)
            .execution_options(synchronize_session=False)
        )


def _forget_old(session: Session, relay: str, current: list[tuple[int, int]]) -> None:
    for seconds, index in current:
        session.execute(
            delete(RateWindow)
            .where(
                and_(
                    RateWindow.relay == relay,
                    RateWindow.window_seconds == seconds,
                    RateWindow.window_index < index - 1,
                )
            )
            .execution_options(synchronize_session=False)
        )


class RateLimiter:
    """The limiter one dispatcher uses: its own transaction per call, its clock, its relay."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Clock,
        relay: str,
        limits: Sequence[RateLimit],
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.relay = relay
        self.limits = list(limits)

    def take(self, want: int) -> tuple[int, datetime]:
        """(sends granted, when): pass `when` back to give_back for the unused ones."""
        now = self.clock.now()
        with self.session_factory() as session:
            granted = take(session, self.relay, self.limits, now, want)
            session.commit()
        return granted, now

    def give_back(self, count: int, taken_at: datetime) -> None:
        if count <= 0:
            return
        with self.session_factory() as session:
            give_back(session, self.relay, self.limits, taken_at, count)
            session.commit()
