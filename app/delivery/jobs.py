"""Periodic jobs inside `serve` and `worker`: plan the outbox, dispatch it. The database is the
queue: any number of workers can run these against one PostgreSQL database."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import time
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.core.config import DEV_SMTP_HOST
from app.core.runtime import Runtime
from app.delivery.dispatcher import Dispatcher, DispatchReport
from app.delivery.mailcatcher import MailCatcher
from app.delivery.planner import PlanReport, plan_due
from app.delivery.smtp import SmtpPool

log = logging.getLogger(__name__)

PLANNER_LOCK_KEY = 0x6E6C_706C  # "nlpl": one planner at a time across all workers


class _LongRunSkipped(logging.Filter):
    """A send that outlasts the dispatch interval just continues: no warning every 2 s."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


logging.getLogger("apscheduler.scheduler").addFilter(_LongRunSkipped())


def plan_once(runtime: Runtime) -> PlanReport | None:
    """Run the planner in its own transaction; None when another worker holds the planner lock."""
    with runtime.session_factory() as session:
        if not _planner_lock(session):
            return None
        report = plan_due(session, runtime.clock.now())
        session.commit()
        return report


def _planner_lock(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite serialises writers itself
    locked = session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PLANNER_LOCK_KEY})
    return bool(locked)


def make_pool(runtime: Runtime) -> SmtpPool:
    s = runtime.settings
    return SmtpPool(
        s.smtp,
        mail_from=s.mail_from,
        concurrency=s.smtp_concurrency,
        timeout=s.smtp_timeout_seconds,
        ca_file=s.smtp_ca_file,
    )


def worker_id() -> str:
    """Unique per process start: a restarted container may get the same host name and pid."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class BackgroundServices:
    """Scheduler jobs (and the dev mail catcher) for one process."""

    def __init__(self, runtime: Runtime, *, mail_catcher: bool = True) -> None:
        self.runtime = runtime
        self.want_catcher = mail_catcher  # `serve` runs the catcher; a `worker` only sends to it
        self.pool = make_pool(runtime)
        self.dispatcher = Dispatcher(runtime, self.pool, worker_id())
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.catcher: MailCatcher | None = None
        self.last_tick: datetime | None = None
        self.heartbeat = time.monotonic()  # real time, even when the clock is simulated
        self.running_jobs = 0
        self.stopping = False

    async def start(self) -> None:
        settings = self.runtime.settings
        if settings.dev_mail_enabled and self.want_catcher:
            self.catcher = MailCatcher(settings.mail_dir, DEV_SMTP_HOST, settings.dev_mail_port)
            self.catcher.start()
            log.info(
                "dev mail catcher on port %s, messages in %s; the dev inbox at %s/dev/inbox "
                "answers only requests from this machine (loopback)",
                settings.dev_mail_port,
                settings.mail_dir,
                settings.base_url,
            )
        self.scheduler.add_job(
            self.plan_job,
            "interval",
            seconds=settings.plan_interval_seconds,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now().astimezone(),
        )
        self.scheduler.add_job(
            self.dispatch_job,
            "interval",
            seconds=settings.dispatch_interval_seconds,
            max_instances=1,
            coalesce=True,
        )
        self._add_housekeeping_jobs()
        self.scheduler.start()
        await self.dispatcher.start()

    def _add_housekeeping_jobs(self) -> None:
        """Nightly retention purge, the monthly report to campaign owners, xAPI to the LRS.

        Each takes a PostgreSQL advisory lock, so with several workers only one runs it.
        """
        from app.privacy.jobs import purge_once
        from app.reports.jobs import monthly_report_job, xapi_job

        settings = self.runtime.settings
        once: dict[str, Any] = {"max_instances": 1, "coalesce": True, "args": [self.runtime]}
        self.scheduler.add_job(
            purge_once,
            "cron",
            hour=3,
            minute=17,
            timezone=settings.timezone,
            misfire_grace_time=3600,
            **once,
        )
        # Hourly: the first-weekday check is per campaign, in the campaign's own time zone.
        self.scheduler.add_job(monthly_report_job, "cron", minute=5, **once)
        self.scheduler.add_job(xapi_job, "interval", seconds=settings.xapi_interval_seconds, **once)

    def not_ready(self) -> str | None:
        """Why this process cannot do its work now, or None when it can (for /readyz)."""
        if not self.scheduler.running:
            return "the scheduler is not running"
        s = self.runtime.settings
        allowed = max(60.0, 3 * max(s.plan_interval_seconds, s.dispatch_interval_seconds))
        idle = time.monotonic() - self.heartbeat
        if idle > allowed:
            return f"the scheduler has not ticked for {idle:.0f} s (allowed {allowed:.0f} s)"
        return None

    async def plan_job(self) -> None:
        self.heartbeat = time.monotonic()
        self.running_jobs += 1
        try:
            report = await asyncio.to_thread(plan_once, self.runtime)
            if report and (report.planned or report.finished):
                log.info("planned %d e-mails in %d campaigns", report.planned, report.campaigns)
        except Exception:
            log.exception("planner failed; it runs again at the next tick")
        finally:
            self.running_jobs -= 1

    async def dispatch_job(self, max_batches: int = 50) -> None:
        self.last_tick = self.runtime.clock.now()
        total = DispatchReport()
        self.running_jobs += 1
        try:
            for _ in range(max_batches):
                if self.stopping:
                    break
                self.heartbeat = time.monotonic()  # a long send is progress, not a hang
                report = await self.dispatcher.run_once()
                total.add(report)
                if report.claimed == 0:
                    break
        except Exception:
            log.exception(
                "dispatcher failed; claimed e-mails are picked up again when their lease ends"
            )
        finally:
            self.running_jobs -= 1
        if total.claimed:
            log.info(
                "dispatched: %d sent, %d to retry, %d failed, %d cancelled",
                total.sent,
                total.retried,
                total.failed,
                total.cancelled,
                extra={
                    "sent": total.sent,
                    "retried": total.retried,
                    "failed": total.failed,
                    "cancelled": total.cancelled,
                    "rate_limited": total.rate_limited,
                },
            )

    async def stop(self, grace_seconds: float = 30.0) -> None:
        """Let the batch being sent finish and be recorded (up to a grace period), then stop."""
        self.stopping = True
        if self.scheduler.running:
            self.scheduler.pause()
        deadline = time.monotonic() + grace_seconds
        while self.running_jobs and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.dispatcher.close()
        await self.pool.close()
        if self.catcher is not None:
            self.catcher.stop()


async def run_worker(runtime: Runtime) -> None:
    """`nanolearn worker`: the jobs without the API, until SIGTERM or SIGINT."""
    services = BackgroundServices(runtime, mail_catcher=False)
    port = runtime.settings.worker_metrics_port
    if port is not None:
        from prometheus_client import start_http_server

        from app.core.metrics import registry_for

        registry = registry_for(runtime.session_factory, runtime.clock)
        start_http_server(port, addr=runtime.settings.host, registry=registry)
        log.info("metrics on %s:%s at /metrics", runtime.settings.host, port)
    await services.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker %s started", worker_id())
    await stop.wait()
    await services.stop()
