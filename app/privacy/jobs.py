"""The nightly purge as a scheduler job: one process at a time, errors logged, never raised."""

from __future__ import annotations

import asyncio
import logging

from app.core.jobs import Job
from app.core.locks import PURGE_LOCK_KEY, try_transaction_lock
from app.core.runtime import Runtime
from app.privacy.retention import PurgeReport, purge_expired

log = logging.getLogger(__name__)


def jobs(runtime: Runtime) -> list[Job]:
    """The nightly purge at 03:17 in the installation's time zone."""

    async def purge_once_job() -> None:
        await asyncio.to_thread(purge_once, runtime)

    schedule = {"hour": 3, "minute": 17, "timezone": runtime.settings.timezone}
    return [Job("purge_once", purge_once_job, "cron", {**schedule, "misfire_grace_time": 3600})]


def purge_once(runtime: Runtime) -> PurgeReport | None:
    """Run the purge in its own transaction; None when another process runs it, or it failed."""
    try:
        with runtime.session_factory() as session:
            if not try_transaction_lock(session, PURGE_LOCK_KEY):
                return None
            report = purge_expired(session, runtime.clock.now(), runtime.settings)
            session.commit()
    except Exception:
        log.exception("privacy purge failed; it runs again next night")
        return None
    if not report.nothing:
        log.info(
            "privacy purge: %d campaigns, %d rows deleted, %d people erased",
            len(report.campaigns),
            sum(report.deleted.values()),
            len(report.employees_erased),
        )
    return report
