"""Group commit for the public pages: one thread stores many requests in one transaction.

A send morning brings thousands of requests a second (mail scanners first). Each in a
transaction of its own, they would queue for the database's write lock and pay a commit and a
few queries each. Here the gate's thread takes every request that queued up while it stored the
previous group, and does their work together (app/tracking/visits.py): one statement for the
rate limits (two on SQLite), one query for their deliveries, one insert for their link hits
and one for their views and clicks, then their confirms and opt-outs, and one commit.

A request's coroutine waits for its group's commit before its page is sent: a 200 means it is
stored, and a SIGKILL loses nothing that was answered. The event loop never waits on the
database; only the coroutine does, on a future.

On PostgreSQL the groups are not stored by threads but by tasks on the event loop, over
asynchronous connections (app/tracking/gate_loop.py says why); the work per group is the same.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from app.tracking.gate_loop import GroupFailedError, LoopRunner
from app.tracking.ratelimit import PublicLimits
from app.tracking.service import VersionCache
from app.tracking.visits import Visit, forget_old_hits, store_group

log = logging.getLogger(__name__)

MAX_GROUP = 500  # requests in one transaction at most
WAIT_SECONDS = 60  # a request gives up (and fails) when its group is not stored by then
IDLE_SECONDS = 10  # a gate thread with nothing to do for this long ends
THREADS = 1  # SQLite has one writer at a time


class NotStoredError(Exception):
    """The request's group could not be stored (the request answers 503)."""


@dataclass(eq=False)
class _Waiting:
    visit: Visit
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Visit]
    error: BaseException | None = field(default=None)


class Gate:
    """Threads that store groups; the requests waiting for them hold no pool connection, so a
    gate thread that takes one for its group never waits for one of theirs.

    One thread on SQLite (one writer at a time anyway; SQLite's calls are short and wait on
    no network). On PostgreSQL, tasks on the event loop (gate_loop.LoopRunner), up to STORERS
    groups in flight, so that one group's round trips and commit overlap the next groups' (two
    groups for one e-mail take turns on its rate-count row, app/tracking/visits.py)."""

    def __init__(
        self,
        engine: Engine,
        limits: PublicLimits,
        versions: VersionCache,
        *,
        long_lived: Collection[asyncio.AbstractEventLoop] = (),
    ) -> None:
        self.engine = engine
        self.limits = limits
        self.versions = versions
        self._loop_runner = (
            LoopRunner(engine, self._store_on, MAX_GROUP, IDLE_SECONDS, long_lived)
            if engine.dialect.name == "postgresql"
            else None
        )
        self._queue: queue.SimpleQueue[_Waiting] = queue.SimpleQueue()
        self._running: list[threading.Thread] = []
        self._start_lock = threading.Lock()
        self._pruned_window = -1
        self._purging = False  # old link hits are left: the next groups delete more
        self._purge_running = False  # a group is deleting old rows
        self._deadlines = Deadlines(WAIT_SECONDS)

    async def enter(self, visit: Visit) -> Visit:
        """Store the visit with the next group; returns it with its results once committed."""
        if self._loop_runner is not None:
            future = self._loop_runner.submit(visit)
        else:
            loop = asyncio.get_running_loop()
            waiting = _Waiting(visit, loop, loop.create_future())
            self._queue.put(waiting)
            self._ensure_started()  # after queueing: see _stop_if_idle
            future = waiting.future
        try:
            return await self._deadlines.wait(future)
        except TimeoutError as exc:
            raise NotStoredError("the request was not stored in time") from exc
        except GroupFailedError as exc:
            raise NotStoredError("storing the request failed") from exc

    async def close(self) -> None:
        """The serving loop's lifespan ends: close what it holds on this loop."""
        if self._loop_runner is not None:
            await self._loop_runner.close()

    def holds_connections(self) -> bool:
        """Whether the gate keeps connections between groups (a thread takes one per group)."""
        return self._loop_runner is not None and self._loop_runner.holds_connections()

    def idle(self) -> bool:
        """No thread running and no connection held (an idle gate ends its threads, and on
        the event loop closes its connections, after IDLE_SECONDS)."""
        if self._loop_runner is not None:
            return not self._loop_runner.holds_connections()
        return not any(t.is_alive() for t in self._running)

    def _ensure_started(self) -> None:
        if len(self._running) == THREADS and all(t.is_alive() for t in self._running):
            return
        with self._start_lock:
            self._running = [t for t in self._running if t.is_alive()]
            while len(self._running) < THREADS:
                thread = threading.Thread(target=self._run, name="public-gate", daemon=True)
                thread.start()
                self._running.append(thread)

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                if self._stop_if_idle():
                    return
                continue
            group = [first]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._store(group)

    def _stop_if_idle(self) -> bool:
        """An idle thread ends (the next request starts one again). Under the start lock, and
        `enter` queues before it looks for threads, so no request is left without one."""
        with self._start_lock:
            if not self._queue.empty():
                return False
            self._running = [t for t in self._running if t is not threading.current_thread()]
            return True

    def _store(self, group: list[_Waiting]) -> None:
        try:
            self._commit([w.visit for w in group])
        except Exception as exc:
            if len(group) == 1:
                log.exception("storing a public request failed")
                group[0].error = NotStoredError("storing the request failed")
                group[0].error.__cause__ = exc
            else:  # one bad request must not fail the others: store them one by one
                for waiting in group:
                    self._store([waiting])
                return
        # One wake-up per event loop for the whole group, not one per request.
        by_loop: dict[asyncio.AbstractEventLoop, list[_Waiting]] = {}
        for waiting in group:
            by_loop.setdefault(waiting.loop, []).append(waiting)
        for loop, waitings in by_loop.items():
            if loop.is_closed():
                continue  # its requests ended (timed out) and no one waits for them
            try:
                loop.call_soon_threadsafe(_resolve, waitings)
            except RuntimeError:  # it closed just now: as above
                continue

    def _commit(self, visits: list[Visit]) -> None:
        # A pool connection for the group only: an idle gate holds none.
        with self.engine.connect() as connection:
            self._store_on(connection, visits)

    def _store_on(self, connection: Connection, visits: list[Visit]) -> None:
        """The group's work and its commit, on `connection` (a thread's, or the loop's), which
        is in no transaction yet: the session's commit is the group's."""
        now = max(v.now for v in visits)
        window = self.limits.window_of(now)
        # One group at a time deletes old rows (groups on the event loop overlap): two deleting
        # the same rows would wait on each other's locks.
        purge = (window != self._pruned_window or self._purging) and not self._purge_running
        self._purge_running = self._purge_running or purge
        try:
            with Session(bind=connection, expire_on_commit=False) as session:
                if connection.dialect.name == "sqlite":
                    # Take the write lock first: a transaction that reads and then writes would
                    # fail at once (not wait) when another process wrote in between.
                    session.execute(text("BEGIN IMMEDIATE"))
                store_group(session, visits, self.limits, self.versions)
                if purge:
                    new_window = window != self._pruned_window
                    done = forget_old_hits(session, self.limits, now, new_window=new_window)
                session.commit()
            if purge:  # after the commit: a group that failed deleted nothing
                self._purging, self._pruned_window = not done, window
        finally:
            if purge:
                self._purge_running = False


class Deadlines:
    """Fails a waiting request's future with TimeoutError once it has waited `seconds`.

    One timer per event loop, looking once a second at the oldest waiting futures, instead of
    a timer per request (`asyncio.timeout` scheduled and cancelled one per request: 3 % of a
    view's CPU, docs/benchmarks.md). Invariants: a future is failed at most CHECK_SECONDS
    late; a future that ends (stored, failed or cancelled) is forgotten at once, so what is
    kept is bounded by the requests waiting, not by the rate; a loop has at most one timer,
    and none while no request of it waits."""

    CHECK_SECONDS = 1.0

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._loops: dict[asyncio.AbstractEventLoop, _LoopDeadlines] = {}

    async def wait(self, future: asyncio.Future[Visit]) -> Visit:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            for closed in [other for other in self._loops if other.is_closed()]:
                del self._loops[closed]
            state = self._loops[loop] = _LoopDeadlines()
        if state.timer is None:
            state.timer = loop.call_later(self.CHECK_SECONDS, self._check, loop, state)
        state.waiting[future] = loop.time() + self.seconds
        try:
            return await future
        finally:
            state.waiting.pop(future, None)

    def _check(self, loop: asyncio.AbstractEventLoop, state: _LoopDeadlines) -> None:
        now = loop.time()
        expired = []
        for future, deadline in state.waiting.items():
            if deadline > now:
                break  # oldest first: the rest are later still
            expired.append(future)
        for future in expired:
            del state.waiting[future]
            if not future.done():
                future.set_exception(TimeoutError())
        state.timer = None
        if state.waiting:
            state.timer = loop.call_later(self.CHECK_SECONDS, self._check, loop, state)


@dataclass(eq=False)
class _LoopDeadlines:
    # The waiting futures and their deadlines, oldest first (one `seconds` for all, so the
    # order they came in is the order they expire in).
    waiting: dict[asyncio.Future[Visit], float] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None


def _resolve(waitings: list[_Waiting]) -> None:
    for waiting in waitings:
        if waiting.future.done():  # the client went away and the coroutine was cancelled
            continue
        if waiting.error is not None:
            waiting.future.set_exception(waiting.error)
        else:
            waiting.future.set_result(waiting.visit)
