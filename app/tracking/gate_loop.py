"""The gate's groups stored from the event loop itself, over asynchronous connections.

For PostgreSQL. A gate thread (app/tracking/gate.py) waits for each of its group's round trips
with the GIL released, and while the event loop is busy serving requests it then waits again,
up to the interpreter's switch interval (5 ms), to get the GIL back: a group's ten round trips
cost 30 ms of waiting under load (docs/benchmarks.md). Here the group's statements run in a
task on the request's own event loop (SQLAlchemy's asyncio extension): a reply is read when
the loop next looks, no thread has to be woken, and the loop serves other requests while the
database works.

The driver is asyncpg, not the app's psycopg: it speaks PostgreSQL's protocol in compiled code
and prepares every statement it runs, so a group's statements (one text whatever the group's
size, app/core/bulk.py) are planned once per connection. Against psycopg's asynchronous
connection, with the same statements, the server spent 1–20 % less CPU per request, runs
taking turns (docs/benchmarks.md, fifth round).

Invariants, as the threaded gate's:
- a request's future is resolved only after its group's commit (a 200 means it is stored);
- a group that fails is stored again one request at a time, so a bad request fails alone;
- at most STORERS groups are in flight per loop, each on a connection of its own, and a loop
  that has been idle for IDLE_SECONDS holds no connection.

Each event loop gets its own engine (asynchronous connections belong to the loop that made
them). A server has one loop per process, announced by the app's lifespan (`long_lived`): its
engine keeps a pool, closed by `close` when the lifespan ends. A loop without a lifespan (a test
client's, one per request) gets an engine without a pool: each group's connection is closed
before its requests are answered, so nothing is left open when that loop ends.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Collection, Coroutine
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from sqlalchemy import URL, Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.tracking.visits import Visit

log = logging.getLogger(__name__)

STORERS = 8  # groups in flight per event loop: one group's commit overlaps the next's work


# libpq options of the database URL that asyncpg's URI reader takes as libpq does. It would
# send any other to the server as a setting, which the server refuses (the gate could then
# never connect), so those are left out, named once in the log (connect_timeout: see _connect).
_ASYNCPG_OPTIONS = frozenset(
    {
        "host",
        "port",
        "user",
        "password",
        "dbname",
        "passfile",
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslcrl",
        "sslpassword",
        "application_name",
        "target_session_attrs",
    }
)


def _dsn(url: URL) -> str:
    """The app's database URL as a libpq connection URI for asyncpg: host, port, user,
    password, database and the options it reads (_ASYNCPG_OPTIONS)."""
    dropped = sorted(set(url.query) - _ASYNCPG_OPTIONS - {"connect_timeout"})
    if dropped:
        log.warning("the public pages' connections leave out these URL options: %s", dropped)
    kept = {k: v for k, v in url.query.items() if k in _ASYNCPG_OPTIONS}
    plain = url.set(drivername="postgresql", query=kept)
    return plain.render_as_string(hide_password=False)


def _connect(url: URL) -> Callable[[], Awaitable[Any]]:
    """asyncpg's connect for the app's database URL (libpq's connect_timeout as its timeout)."""
    timeout = url.query.get("connect_timeout")
    seconds = float(timeout) if isinstance(timeout, str) and timeout.isdigit() else 60.0
    return functools.partial(asyncpg.connect, _dsn(url), timeout=seconds)


class GroupFailedError(Exception):
    """A group (or a request stored alone) could not be stored."""


@dataclass(eq=False)
class _Pending:
    visit: Visit
    future: asyncio.Future[Visit]


@dataclass(eq=False)
class _LoopState:
    engine: AsyncEngine
    pooled: bool  # keeps connections between groups (a loop with a lifespan)
    pending: list[_Pending] = field(default_factory=list)
    storers: int = 0
    idle_check: asyncio.TimerHandle | None = None
    # The loop keeps only weak references to its tasks: these keep them until they end.
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def start(self, loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, None]) -> None:
        task = loop.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class LoopRunner:
    """Stores groups of visits with `store(connection, visits)` (synchronous code: it runs on
    an asynchronous connection through `run_sync`, each statement awaited on the loop)."""

    def __init__(
        self,
        engine: Engine,
        store: Callable[[Connection, list[Visit]], None],
        max_group: int,
        idle_seconds: float,
        long_lived: Collection[asyncio.AbstractEventLoop] = (),
    ) -> None:
        self._url = engine.url
        self._long_lived = long_lived
        self._store_sync = store
        self._max_group = max_group
        self._idle_seconds = idle_seconds
        self._loops: dict[asyncio.AbstractEventLoop, _LoopState] = {}

    def holds_connections(self) -> bool:
        """Whether any loop keeps connections between groups (for tests: an idle gate, or a
        stopped server's, holds none)."""
        return any(state.pooled for state in self._loops.values())

    def submit(self, visit: Visit) -> asyncio.Future[Visit]:
        loop = asyncio.get_running_loop()
        state = self._state(loop)
        future: asyncio.Future[Visit] = loop.create_future()
        state.pending.append(_Pending(visit, future))
        if state.storers < STORERS:
            state.storers += 1
            state.start(loop, self._drain(loop, state))
        return future

    def _state(self, loop: asyncio.AbstractEventLoop) -> _LoopState:
        state = self._loops.get(loop)
        if state is None:
            for closed in [other for other in self._loops if other.is_closed()]:
                del self._loops[closed]  # pool-less: it holds no connection
            pooled = loop in self._long_lived
            pool: dict[str, Any] = {"poolclass": NullPool}
            if pooled:
                # No pre-ping: a group on a dead connection fails, the pool is invalidated, and
                # the group is stored again one request at a time on fresh connections.
                pool = {"pool_size": STORERS, "max_overflow": 0}
            engine = create_async_engine(
                "postgresql+asyncpg://",
                async_creator=_connect(self._url),
                hide_parameters=True,  # a database error must never carry a value into a log
                json_deserializer=orjson.loads,  # each e-mail's review items (JSONB), read per group
                **pool,
            )
            state = self._loops[loop] = _LoopState(engine, pooled)
        if state.idle_check is not None:
            state.idle_check.cancel()
            state.idle_check = None
        return state

    async def _drain(self, loop: asyncio.AbstractEventLoop, state: _LoopState) -> None:
        try:
            while state.pending:
                group = state.pending[: self._max_group]
                del state.pending[: self._max_group]
                await self._store(state, group)
        finally:
            state.storers -= 1
            if state.storers == 0 and not state.pending and not loop.is_closed():
                state.idle_check = loop.call_later(self._idle_seconds, self._close_if_idle, loop)

    async def _store(self, state: _LoopState, group: list[_Pending]) -> None:
        try:
            async with state.engine.connect() as connection:
                await connection.run_sync(self._store_sync, [p.visit for p in group])
        except Exception as exc:
            if len(group) > 1:  # one bad request must not fail the others: one by one
                for pending in group:
                    await self._store(state, [pending])
                return
            log.exception("storing a public request failed")
            error = GroupFailedError("storing the request failed")
            error.__cause__ = exc
            if not group[0].future.done():
                group[0].future.set_exception(error)
            return
        for pending in group:
            if not pending.future.done():  # done: the client went away, the request was cancelled
                pending.future.set_result(pending.visit)

    async def close(self) -> None:
        """Close the current loop's connections (its lifespan ends)."""
        state = self._loops.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.engine.dispose()

    def _close_if_idle(self, loop: asyncio.AbstractEventLoop) -> None:
        state = self._loops.get(loop)
        if state is None or state.storers or state.pending:
            return
        del self._loops[loop]
        state.start(loop, state.engine.dispose())
