"""Scheduler job of xAPI: forward new statements to the LRS when LRS_URL is set."""

from __future__ import annotations

import logging

from app.core.jobs import Job
from app.core.runtime import Runtime
from app.xapi.forward import forward_xapi

log = logging.getLogger(__name__)


def jobs(runtime: Runtime) -> list[Job]:
    async def xapi_job() -> None:
        try:
            await forward_xapi(runtime, runtime.clock.now())
        except Exception:
            log.exception("xAPI forwarding failed; it resumes from its cursor at the next run")

    return [
        Job("xapi_job", xapi_job, "interval", {"seconds": runtime.settings.xapi_interval_seconds})
    ]
