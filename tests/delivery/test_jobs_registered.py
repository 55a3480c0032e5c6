"""A running process has every periodic job: plan, dispatch, purge, monthly report, xAPI."""

import asyncio

from app.core.runtime import Runtime
from app.worker import BackgroundServices


def test_background_services_schedule_every_job(runtime: Runtime) -> None:
    async def started_jobs() -> set[str]:
        services = BackgroundServices(runtime, mail_catcher=False)
        await services.start()
        try:
            return {job.id for job in services.scheduler.get_jobs()}
        finally:
            await services.stop()

    names = asyncio.run(started_jobs())
    assert names >= {"plan_job", "dispatch_job", "purge_once", "monthly_report_job", "xapi_job"}
