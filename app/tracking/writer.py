"""Group commit for views and clicks: many requests' events in one transaction.

A send morning brings thousands of views and clicks a second (mail scanners first). Each in a
transaction of its own, they queue for the database's write lock (SQLite has one writer; the
busy handler sleeps) and pay one commit each. Here one thread writes what has queued up since
its last commit in one transaction, as PostgreSQL's own group commit does for WAL flushes, and
every request waits for the commit of its group before its page is sent: a 200 still means it
is stored, and a crash loses nothing that was answered.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from app.tracking.models import Event
from app.tracking.service import reclassify_burst

log = logging.getLogger(__name__)

MAX_GROUP = 500  # writes in one transaction at most
WAIT_SECONDS = 60  # a request gives up (and fails) when its group is not stored by then


@dataclass
class Write:
    """One request's writes: re-classify a link burst of `delivery_id` since `burst_since`
    (before the new event, as the rule says), then add `event`."""

    delivery_id: int
    event: Event | None
    burst_since: datetime | None = None
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class EventWriter:
    """One writer thread per app; `write` blocks the calling (worker) thread until committed.

    The writer keeps a connection of its own: requests waiting for it hold pool connections,
    and it must never wait for one of theirs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None
        self._queue: queue.SimpleQueue[Write] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def write(self, item: Write) -> None:
        """Queue the write and wait for its group's commit; raises if the group failed."""
        self._ensure_started()
        self._queue.put(item)
        if not item.done.wait(WAIT_SECONDS):
            raise TimeoutError("the event was not stored in time")
        if item.error is not None:
            raise item.error

    def _ensure_started(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="event-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            group = [self._queue.get()]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._store(group)

    def _store(self, group: list[Write]) -> None:
        try:
            self._commit(group)
        except Exception:
            if len(group) == 1:
                log.exception("storing an event failed")
                group[0].error = RuntimeError("storing the event failed")
            else:  # one bad write must not fail the others: store them one by one
                for item in group:
                    self._store([item])
                return
        for item in group:
            item.done.set()

    def _commit(self, group: list[Write]) -> None:
        if self._connection is None or self._connection.invalidated:
            self._connection = self.engine.connect()
        session = Session(bind=self._connection, expire_on_commit=False)
        try:
            for item in group:
                if item.burst_since is not None:
                    session.flush()
                    reclassify_burst(session, item.delivery_id, item.burst_since)
                if item.event is not None:
                    session.add(item.event)
            session.commit()
        except BaseException:
            session.rollback()
            self._connection.close()
            self._connection = None
            raise
        finally:
            session.close()
