"""Scheduler job of the reports: the monthly e-mail to campaign owners (hourly; it sends on the
first weekday of the month only, in each campaign's own time zone)."""

from __future__ import annotations

import logging

from app.core.jobs import Job
from app.core.mail import Mailer
from app.core.runtime import Runtime
from app.reports.monthly import send_monthly_reports

log = logging.getLogger(__name__)


def jobs(runtime: Runtime, mailer: Mailer) -> list[Job]:
    async def monthly_report_job() -> None:
        try:
            sent = await send_monthly_reports(runtime, runtime.clock.now(), mailer)
        except Exception:
            log.exception("monthly reports failed; the next hourly run tries again")
            return
        if sent:
            log.info("monthly progress reports sent for %d campaigns", sent)

    return [Job("monthly_report_job", monthly_report_job, "cron", {"minute": 5})]
