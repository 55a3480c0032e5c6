"""What a process needs to work: settings, engine, session factory and clock."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.core.clock import Clock, system_clock
from app.core.config import Settings, get_settings
from app.core.db import make_engine, make_session_factory


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock = field(default=system_clock)

    @classmethod
    def create(
        cls,
        settings: Settings | None = None,
        engine: Engine | None = None,
        clock: Clock | None = None,
    ) -> Runtime:
        settings = settings or get_settings()
        if engine is None:
            if settings.database_url.startswith("sqlite"):
                settings.data_dir.mkdir(parents=True, exist_ok=True)
            engine = make_engine(settings.database_url)
        return cls(settings, engine, make_session_factory(engine), clock or system_clock)


def tune_gc_for_serving() -> None:
    """Call once a serving process has built its app, before it serves.

    Each request allocates and frees many small objects, and Python's full collections scanned
    every long-lived object (mappers, templates, caches) each time, pausing all requests for
    tens of milliseconds: the public pages' p99 fell from about 100 ms to about 20 ms when this
    was done (docs/benchmarks.md). What exists after start-up is never garbage: freeze it, and
    collect the young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
