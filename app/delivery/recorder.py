"""Writing send results as they land, in group commits, with a bound on unwritten results."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from app.outbox.results import SendResult

log = logging.getLogger(__name__)

WRITE_RETRIES = 5  # a database blip while recording: wait and write again, then give up
LINGER_SECONDS = 0.05  # results wait at most this long for a fuller flush


class Recorder:
    """Writes results as they land, one transaction at a time: a flush of `flush_size`, or
    whatever has come in after LINGER_SECONDS. `room` bounds sent-but-unwritten results: a lane
    takes a permit before it sends and the permit comes back once the result is committed."""

    def __init__(
        self,
        write: Callable[[list[SendResult]], Awaitable[None]],
        flush_size: int,
        room: asyncio.Semaphore,
        permits: int,
    ) -> None:
        self.write, self.flush_size, self.room, self.permits = write, flush_size, room, permits
        self.pending: list[SendResult] = []
        self.error: BaseException | None = None
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run())

    def add(self, result: SendResult) -> None:
        self.pending.append(result)
        self._wake.set()
        if len(self.pending) >= self.flush_size:
            self._full.set()

    async def _run(self) -> None:
        while self.error is None:
            if not self.pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if len(self.pending) < self.flush_size and not self._closing:
                # A moment for more results: one transaction for many, not one for each.
                self._full.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), LINGER_SECONDS)
            batch = self.pending[: self.flush_size]
            del self.pending[: len(batch)]
            try:
                await self._write(batch)
            except Exception as exc:
                self.error = exc
                for _ in range(self.permits):  # wake the lanes so they see the error
                    self.room.release()
                return
            for _ in batch:
                self.room.release()

    async def _write(self, batch: list[SendResult]) -> None:
        for attempt in range(WRITE_RETRIES):
            try:
                await self.write(batch)
                return
            except Exception:
                if attempt == WRITE_RETRIES - 1:
                    raise
                log.warning("recording results failed; trying again", exc_info=True)
                await asyncio.sleep(0.5 * 2**attempt)

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        self._full.set()
        await self._task
        if self.error is not None:
            raise self.error
