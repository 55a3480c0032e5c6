from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.delivery.transport import mailer
from app.reports import jobs as reports_jobs
from app.xapi import jobs as xapi_jobs
from tests.smtp_server import SmtpSink


def test_jobs_run_on_the_runtime_clock(runtime: Runtime, smtp_sink: SmtpSink) -> None:
    # Nothing is due and no LRS is set: both jobs are quiet no-ops, and never raise.
    clocked = Runtime(
        runtime.settings,
        runtime.engine,
        runtime.session_factory,
        FakeClock(datetime(2026, 2, 2, 6, 0, tzinfo=UTC)),
    )
    for job in [*reports_jobs.jobs(clocked, mailer(clocked.settings)), *xapi_jobs.jobs(clocked)]:
        asyncio.run(job.run())
    assert smtp_sink.received == []
