"""A relay's rate limit, shared by every worker through the database.

Relays limit how many messages they accept per minute and per hour. Each worker asks the
database before it claims e-mails, so the limit holds however many workers run (listmonk
limits each worker on its own, and the sum overshoots).

Each limit is a token bucket in one row (relay, window length): it refills at `per` e-mails per
`seconds` and holds at most a few seconds' worth, so a quiet spell cannot be followed by a flood. Any window
of the limit's length therefore carries at most `per + capacity` e-mails (4 % more than `per`
for a per-minute limit), and a long send runs at the limit's rate: fractions of a token carry
over, nothing is lost to rounding.

A daily limit is different: Microsoft 365 allows 10,000 recipients per mailbox in any 24 hours,
and a bucket holding a day's worth would let twice that through in a day. It is a rolling
window instead: sends are counted per minute (`SendCount`), and a grant is what the window has
left. Counting whole minutes errs on the safe side by at most a minute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from app.core.accounts import SendingAccount
from app.core.clock import Clock
from app.core.config import Settings
from app.delivery.models import RateBucket, SendCount

# How long a quiet bucket keeps saving tokens: more than the 2 s a worker waits between looks,
# so none are lost between them, and little enough (4 % of a minute) not to burst.
BURST_SECONDS = 2.5


@dataclass(frozen=True)
class RateLimit:
    per: int  # e-mails …
    seconds: int  # … per this many seconds
    burst_seconds: float = BURST_SECONDS
    rolling: bool = False  # counted in a rolling window (the daily limit), not a bucket

    def __post_init__(self) -> None:
        if self.per < 1 or self.seconds < 1 or self.burst_seconds < 0:
            raise ValueError("a rate limit needs at least 1 e-mail per at least 1 second")

    @property
    def rate(self) -> float:
        return self.per / self.seconds

    @property
    def capacity(self) -> float:
        """Tokens a bucket holds at most. The one token on top means a fraction left after a
        grant is never cut off by the cap, so a long send keeps the full rate."""
        return 1.0 + self.rate * self.burst_seconds


DAY_SECONDS = 86_400
COUNT_STEP = timedelta(minutes=1)  # the rolling window counts sends per minute


def limits_from_settings(settings: Settings) -> list[RateLimit]:
    """The limits of the one account the plain settings describe."""
    return _limits(
        settings,
        settings.smtp_rate_per_minute,
        settings.smtp_rate_per_hour,
        settings.smtp_rate_per_day,
    )


def limits_of(account: SendingAccount, settings: Settings) -> list[RateLimit]:
    return _limits(settings, account.rate_per_minute, account.rate_per_hour, account.rate_per_day)


def _limits(
    settings: Settings, minute: int | None, hour: int | None, day: int | None
) -> list[RateLimit]:
    # A slow dispatch interval would waste tokens between looks: let the bucket hold them.
    burst = max(BURST_SECONDS, 1.25 * settings.dispatch_interval_seconds)
    limits = []
    for per, seconds in ((minute, 60), (hour, 3600)):
        if per:
            limits.append(RateLimit(per, seconds, burst))
    if day:
        limits.append(RateLimit(day, DAY_SECONDS, 0, rolling=True))
    return limits


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def sent_within(session: Session, relay: str, seconds: int, now: datetime) -> int:
    """E-mails sent through `relay` in the last `seconds` (whole minutes: may count one more)."""
    since = _minute(now) - timedelta(seconds=seconds)
    total = session.scalar(
        select(func.coalesce(func.sum(SendCount.count), 0)).where(
            SendCount.relay == relay, SendCount.minute >= since
        )
    )
    return int(total or 0)


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _count_sends(session: Session, relay: str, now: datetime, count: int) -> None:
    minute = _minute(now)
    stmt = _insert(session)(SendCount).values(relay=relay, minute=minute, count=count)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[SendCount.relay, SendCount.minute],
            set_={"count": SendCount.count + stmt.excluded.count},
        )
    )
    # Minutes older than the longest window are no longer needed.
    session.execute(
        delete(SendCount).where(
            SendCount.relay == relay, SendCount.minute < minute - timedelta(seconds=DAY_SECONDS)
        )
    )


def _uncount_sends(session: Session, relay: str, count: int) -> None:
    """Return unused sends to the rolling window: the newest minutes first."""
    rows = session.scalars(
        select(SendCount)
        .where(SendCount.relay == relay, SendCount.count > 0)
        .order_by(SendCount.minute.desc())
        .limit(10)
    )
    for row in rows:
        back = min(count, row.count)
        row.count -= back
        count -= back
        if count == 0:
            break


def _locked_buckets(
    session: Session, relay: str, limits: Sequence[RateLimit], now: datetime
) -> dict[int, RateBucket]:
    """The relay's buckets, created full when missing, locked for this transaction.

    On SQLite the INSERT is the transaction's first write and takes the database lock, so what
    it reads next cannot change under it; on PostgreSQL FOR UPDATE locks the rows (always in
    the same order, so two workers cannot deadlock)."""
    rows = [
        {"relay": relay, "window_seconds": lim.seconds, "tokens": lim.capacity, "updated_at": now}
        for lim in limits
    ]
    session.execute(_insert(session)(RateBucket).values(rows).on_conflict_do_nothing())
    buckets = session.scalars(
        select(RateBucket)
        .where(
            RateBucket.relay == relay,
            RateBucket.window_seconds.in_([lim.seconds for lim in limits]),
        )
        .order_by(RateBucket.window_seconds)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {b.window_seconds: b for b in buckets}


def _refill(bucket: RateBucket, limit: RateLimit, now: datetime) -> None:
    # Workers' clocks differ a little: time never runs backwards for a bucket.
    elapsed = max(0.0, (now - bucket.updated_at).total_seconds())
    bucket.tokens = min(limit.capacity, bucket.tokens + elapsed * limit.rate)
    bucket.updated_at = max(now, bucket.updated_at)


def take(
    session: Session, relay: str, limits: Sequence[RateLimit], now: datetime, want: int
) -> int:
    """Reserve up to `want` sends for `relay` now; returns how many were granted (maybe 0)."""
    if want <= 0 or not limits:
        return max(want, 0)
    buckets = _locked_buckets(session, relay, limits, now)  # a rolling limit's row: the lock
    grant = want
    for limit in limits:
        if limit.rolling:
            grant = min(grant, max(0, limit.per - sent_within(session, relay, limit.seconds, now)))
            continue
        bucket = buckets[limit.seconds]
        _refill(bucket, limit, now)
        grant = min(grant, math.floor(bucket.tokens + 1e-9))
    for limit in limits:
        if not limit.rolling:
            buckets[limit.seconds].tokens -= grant
    if grant and any(limit.rolling for limit in limits):
        _count_sends(session, relay, now, grant)
    session.flush()
    return grant


def give_back(
    session: Session, relay: str, limits: Sequence[RateLimit], now: datetime, count: int
) -> None:
    """Return reserved sends that were not used (fewer e-mails were due than reserved)."""
    if count <= 0 or not limits:
        return
    buckets = _locked_buckets(session, relay, limits, now)
    for limit in limits:
        if limit.rolling:
            continue
        bucket = buckets[limit.seconds]
        _refill(bucket, limit, now)
        bucket.tokens = min(limit.capacity, bucket.tokens + count)
    if any(limit.rolling for limit in limits):
        _uncount_sends(session, relay, count)
    session.flush()


def _no_fsync(session: Session) -> None:
    """The buckets are not worth a disk flush per commit: after a database crash they would
    merely be a few milliseconds old."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))


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

    def take(self, want: int) -> int:
        with self.session_factory() as session:
            _no_fsync(session)
            granted = take(session, self.relay, self.limits, self.clock.now(), want)
            if granted:
                session.commit()
            # Nothing granted: nothing to write (the refill is recomputed next time), which
            # keeps a worker that polls an exhausted bucket cheap.
        return granted

    def give_back(self, count: int) -> None:
        if count <= 0:
            return
        with self.session_factory() as session:
            _no_fsync(session)
            give_back(session, self.relay, self.limits, self.clock.now(), count)
            session.commit()
