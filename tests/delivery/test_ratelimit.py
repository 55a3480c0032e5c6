"""The relay's rate limit is shared through the database: two dispatchers together keep it."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from app.core.clock import FakeClock
from app.core.db import make_engine, make_session_factory
from app.core.runtime import Runtime
from app.delivery.dispatcher import Dispatcher
from app.delivery.jobs import plan_once
from app.delivery.ratelimit import RateLimit, RateLimiter, limits_from_settings
from app.delivery.transport import make_transport
from app.outbox.models import Delivery, DeliveryStatus
from tests.delivery.worker_process import SLOT, make_campaign
from tests.smtp_server import SmtpSink

RELAY = "relay.kommun.example:587"
STEP = timedelta(seconds=0.25)  # tokens per step stay under the burst: none are lost


def test_take_refills_at_the_limit_rate_up_to_a_small_burst(
    runtime: Runtime, clock: FakeClock
) -> None:
    limit = RateLimit(60, 60, burst_seconds=4)  # one a second, holds 1 + 4 tokens
    limiter = RateLimiter(runtime.session_factory, clock, RELAY, [limit])
    assert limiter.take(10) == 5  # a fresh bucket holds the burst, not a whole minute
    assert limiter.take(1) == 0
    clock.advance(seconds=2.5)
    assert limiter.take(10) == 2  # one per second; the half carries over
    clock.advance(seconds=0.5)
    assert limiter.take(10) == 1
    limiter.give_back(1)  # claimed fewer than reserved
    assert limiter.take(10) == 1
    clock.advance(minutes=10)
    assert limiter.take(100) == 5  # a quiet spell saves up no more than the burst
    other = RateLimiter(runtime.session_factory, clock, "other.relay:25", [limit])
    assert other.take(10) == 5  # each relay has its own buckets


def test_the_tightest_limit_wins(runtime: Runtime, clock: FakeClock) -> None:
    limits = [RateLimit(600, 60), RateLimit(1000, 3600, burst_seconds=7.2)]  # 1 + 2 tokens
    limiter = RateLimiter(runtime.session_factory, clock, RELAY, limits)
    assert limiter.take(100) == 3
    clock.advance(seconds=36)  # 1000 per hour is one per 3.6 s
    assert limiter.take(100) == 3  # the hourly bucket holds no more


def test_settings_give_per_minute_and_per_hour_limits(runtime: Runtime) -> None:
    runtime.settings.smtp_rate_per_minute = 600
    runtime.settings.smtp_rate_per_hour = 1000
    minute, hour = limits_from_settings(runtime.settings)
    assert (minute.per, minute.seconds, hour.per, hour.seconds) == (600, 60, 1000, 3600)
    assert minute.capacity == 26  # 2.5 s worth plus one: more than the 2 s between looks
    runtime.settings.dispatch_interval_seconds = 10
    assert limits_from_settings(runtime.settings)[0].capacity == 1 + 10 * 12.5


def second_runtime(runtime: Runtime, engine: Engine) -> Runtime:
    """Another worker: its own engine and connections to the same database."""
    return Runtime(runtime.settings, engine, make_session_factory(engine), runtime.clock)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ([RateLimit(5, 3, burst_seconds=0.3)], 100),  # 5 per 3 s for a minute
        ([RateLimit(5, 3, 0.3), RateLimit(30, 30, 0.5)], 60),  # 30 per 30 s binds
    ],
)
def test_two_dispatchers_sharing_the_database_keep_the_limit_over_a_minute(
    runtime: Runtime,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    limits: list[RateLimit],
    expected: int,
) -> None:
    make_campaign(runtime, 150)
    clock.set(SLOT + timedelta(minutes=1))
    plan_once(runtime)
    start = clock.now()
    engine = make_engine(runtime.settings.database_url)
    workers = [runtime, second_runtime(runtime, engine)]

    async def a_minute_of_sending() -> None:
        pools = [make_transport(w.settings) for w in workers]
        dispatchers = [
            Dispatcher(
                w, pool, f"w{n}", limiter=RateLimiter(w.session_factory, clock, RELAY, limits)
            )
            for n, (w, pool) in enumerate(zip(workers, pools, strict=True))
        ]
        # Who asks first is drawn each step, as with workers polling freely. Not simply taking
        # turns: a limit of one token a second fills every fourth step, so turns would give
        # every token to whoever asks first on those steps (seeded: the same draw every run).
        draw = random.Random(15)
        try:
            while clock.now() - start < timedelta(seconds=60):
                draw.shuffle(dispatchers)
                await asyncio.gather(*(d.run_once() for d in dispatchers))
                clock.advance(STEP)
        finally:
            for pool in pools:
                await pool.close()

    try:
        asyncio.run(a_minute_of_sending())
    finally:
        engine.dispose()
    with runtime.session_factory() as session:
        sent = session.execute(
            select(Delivery.sent_at, Delivery.claimed_by).where(
                Delivery.status == DeliveryStatus.sent
            )
        ).all()
    assert len(smtp_sink.received) == len(sent)
    assert abs(len(sent) - expected) <= 0.05 * expected, len(sent)
    assert {by for _, by in sent} == {"w0", "w1"}  # both did their share
    at = Counter((when - start).total_seconds() for when, _ in sent)
    for limit in limits:  # any window of the limit's length holds at most per + capacity
        for t0 in sorted(at):
            in_window = sum(n for t, n in at.items() if t0 <= t < t0 + limit.seconds)
            assert in_window <= limit.per + int(limit.capacity), (limit, t0, in_window)
