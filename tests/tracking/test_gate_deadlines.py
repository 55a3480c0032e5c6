"""A request whose group is not stored in time fails (the page answers 503), and the gate's
deadlines cost one timer per event loop, not one per request (app/tracking/gate.py)."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.tracking.gate import Deadlines, Gate, NotStoredError
from app.tracking.ratelimit import PublicLimits
from app.tracking.service import VersionCache
from app.tracking.visits import Visit
from tests.flow import mail_links
from tests.tracking.campaign import ANNA, Sent, delivery_id, events_of, lesson_view


def quick(seconds: float) -> Deadlines:
    deadlines = Deadlines(seconds)
    deadlines.CHECK_SECONDS = 0.02
    return deadlines


def test_a_future_that_is_never_resolved_times_out() -> None:
    deadlines = quick(0.1)

    async def run() -> tuple[float, BaseException | None]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await deadlines.wait(loop.create_future())
        except TimeoutError as exc:
            return loop.time() - started, exc
        return loop.time() - started, None

    waited, error = asyncio.run(run())
    assert isinstance(error, TimeoutError)
    assert 0.1 <= waited < 1.0


def test_resolved_futures_are_forgotten_and_one_timer_runs_per_loop() -> None:
    deadlines = quick(30)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for _round in range(3):  # waiting, then none waiting, then waiting again
            futures = [loop.create_future() for _ in range(100)]
            waits = [asyncio.ensure_future(deadlines.wait(f)) for f in futures]
            await asyncio.sleep(0)
            state = deadlines._loops[loop]
            assert len(state.waiting) == 100 and state.timer is not None
            timers = [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
            assert len(timers) == 1
            for n, future in enumerate(futures):
                future.set_result(n)  # type: ignore[arg-type]
            assert await asyncio.gather(*waits) == list(range(100))
            assert state.waiting == {}
            await asyncio.sleep(0.05)  # the timer looks, finds none waiting, and stops
            assert state.timer is None
            assert [h for h in loop._scheduled if not h.cancelled()] == []  # type: ignore[attr-defined]

    asyncio.run(run())


def test_a_cancelled_request_is_forgotten() -> None:
    deadlines = quick(30)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        waiting = asyncio.ensure_future(deadlines.wait(loop.create_future()))
        await asyncio.sleep(0)
        waiting.cancel()  # the client went away
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert deadlines._loops[loop].waiting == {}

    asyncio.run(run())


def test_a_group_stored_too_late_fails_its_request_and_the_links_still_work(
    runtime: Runtime, client: TestClient, clock: FakeClock, sent: Sent
) -> None:
    """The gate's own path: its group is held back past the deadline, so the request fails
    with NotStoredError (the page's 503); the links work again afterwards."""
    gate = Gate(runtime.engine, PublicLimits(1000, 1000), VersionCache())
    gate._deadlines = quick(0.2)
    anna = delivery_id(runtime, sent.mail[ANNA])
    released = threading.Event()
    if gate._loop_runner is None:  # SQLite: the gate's thread stores, and waits here
        store = gate._store_on

        def held_store(connection: Connection, visits: list[Visit]) -> None:
            released.wait(10)
            store(connection, visits)

        gate._store_on = held_store  # type: ignore[method-assign]
    else:  # PostgreSQL: the group's task on the event loop stores, and waits here

        async def held_on_loop(state: object, group: list[object]) -> None:
            await asyncio.sleep(1)

        gate._loop_runner._store = held_on_loop  # type: ignore[method-assign,assignment]

    async def late() -> BaseException | Visit:
        try:
            return await gate.enter(lesson_view(clock.now(), anna))
        except NotStoredError as exc:
            return exc
        finally:
            released.set()

    failed = asyncio.run(late())
    assert isinstance(failed, NotStoredError)
    assert "in time" in str(failed)
    view = mail_links(sent.mail[ANNA]).view
    assert view is not None
    clock.advance(timedelta(minutes=5))
    assert client.get(view).status_code == 200
    assert ("view", "human", "") in events_of(runtime, sent.mail[ANNA])
