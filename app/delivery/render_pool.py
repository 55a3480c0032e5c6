"""Rendering claimed e-mails: on a thread here, or in helper processes when it is the
bottleneck (RENDER_PROCESSES). Each e-mail is handed to the senders as soon as it is done."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from multiprocessing import get_context

from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.core.db import make_engine, make_session_factory
from app.core.runtime import Runtime
from app.delivery.compose import Outgoing, compose_batch

log = logging.getLogger(__name__)

_helper: tuple[Settings, sessionmaker[Session]] | None = None


def _start_helper(settings: Settings) -> None:
    global _helper
    _helper = (settings, make_session_factory(make_engine(settings.database_url)))


def _render_in_helper(ids: list[int], now: datetime) -> list[Outgoing]:
    assert _helper is not None, "the helper process was not initialised"
    settings, factory = _helper
    with factory() as session:
        return compose_batch(session, settings, ids, now)


class RenderPool:
    """Renders claimed e-mails and hands them over as they are done. In helper processes a
    batch is cut into chunks rendered side by side, and sending starts with the first chunk; on
    a thread it is rendered in one go (a thread would only take turns with the event loop)."""

    CHUNK = 50

    def __init__(self, runtime: Runtime, processes: int) -> None:
        self.runtime = runtime
        self.processes = processes
        self.executor: ProcessPoolExecutor | None = None
        if processes:
            self.executor = ProcessPoolExecutor(
                processes,
                mp_context=get_context("spawn"),  # a fork would copy our threads and sockets
                initializer=_start_helper,
                initargs=(runtime.settings,),
            )

    def _here(self, ids: list[int], now: datetime) -> list[Outgoing]:
        with self.runtime.session_factory() as session:
            return compose_batch(session, self.runtime.settings, ids, now)

    async def _chunk(self, ids: list[int], now: datetime) -> list[Outgoing]:
        if self.executor is None:
            return await asyncio.to_thread(self._here, ids, now)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, _render_in_helper, ids, now)

    async def render(
        self, ids: list[int], out: asyncio.Queue[Outgoing | None], broken: dict[int, str]
    ) -> None:
        """Put every e-mail on `out`, then None; what cannot be rendered goes to `broken`."""
        now = self.runtime.clock.now()
        turns = asyncio.Semaphore(max(1, 2 * self.processes))  # keep every helper busy

        async def one(chunk: list[int]) -> None:
            async with turns:
                try:
                    items = await self._chunk(chunk, now)
                except Exception:
                    log.exception("rendering a chunk failed; rendering its e-mails one at a time")
                    items = await self._one_by_one(chunk, now, broken)
            for item in items:
                out.put_nowait(item)
            done = {item.delivery_id for item in items}
            for missing in (i for i in chunk if i not in done and i not in broken):
                broken[missing] = "could not render: the employee or lesson is gone"

        try:
            step = self.CHUNK if self.executor is not None else max(1, len(ids))
            await asyncio.gather(*(one(ids[i : i + step]) for i in range(0, len(ids), step)))
        finally:
            out.put_nowait(None)

    async def _one_by_one(
        self, ids: list[int], now: datetime, broken: dict[int, str]
    ) -> list[Outgoing]:
        items: list[Outgoing] = []
        for delivery_id in ids:  # one broken e-mail must not hold up the whole outbox
            try:
                items += await self._chunk([delivery_id], now)
            except Exception as exc:
                log.exception("delivery %s cannot be rendered; marked failed", delivery_id)
                broken[delivery_id] = f"could not render: {type(exc).__name__}: {exc}"[:500]
        return items

    async def warm_up(self) -> None:
        """Start the helper processes now rather than on the first batch (each imports the app)."""
        if self.executor is not None:
            now = self.runtime.clock.now()
            await asyncio.gather(*(self._chunk([], now) for _ in range(self.processes)))

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
