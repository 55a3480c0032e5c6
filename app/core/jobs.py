"""A periodic job as a domain declares it; `app.worker` collects them and schedules them.

A domain's `jobs.py` has `def jobs(runtime) -> list[Job]`. A job is an async callable without
arguments that never raises (it logs and tries again at its next run) and, when several
processes run it, takes its own lock (`app.core.locks`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Job:
    name: str  # unique; the scheduler's job id
    run: Callable[[], Awaitable[None]]
    trigger: str  # an APScheduler trigger: "interval" or "cron"
    schedule: dict[str, Any] = field(default_factory=dict)  # the trigger's arguments
