"""Scheduler jobs of the reports: the monthly e-mail (hourly; it sends on the first weekday
only) and the xAPI forwarding. Registered in app.delivery.jobs.BackgroundServices.start."""

from __future__ import annotations

import logging

from app.core.runtime import Runtime
from app.reports.monthly import send_monthly_reports
from app.xapi.forward import forward_xapi

log = logging.getLogger(__name__)


async def monthly_report_job(runtime: Runtime) -> None:
    try:
        sent = await send_monthly_reports(runtime, runtime.clock.now())
    except Exception:
        log.exception("monthly reports failed; the next hourly run tries again")
        return
    if sent:
        log.info("monthly progress reports sent for %d campaigns", sent)


async def xapi_job(runtime: Runtime) -> None:
    try:
        await forward_xapi(runtime, runtime.clock.now())
    except Exception:
        log.exception("xAPI forwarding failed; it resumes from its cursor at the next run")
