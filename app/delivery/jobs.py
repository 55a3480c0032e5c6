"""Periodic jobs inside `serve` and `worker`: plan the outbox, dispatch it. The database is the
queue: any number of workers can run these against one PostgreSQL database."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.core.config import DEV_SMTP_HOST
from app.core.runtime import Runtime
from app.delivery.dispatcher import Dispatcher
from app.delivery.mailcatcher import MailCatcher
from app.delivery.planner import PlanReport, plan_due
from app.delivery.smtp import SmtpPool

log = logging.getLogger(__name__)

PLANNER_LOCK_KEY = 0x6E6C_706C  # "nlpl": one planner at a time across all workers


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
    )


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


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

    async def start(self) -> None:
        settings = self.runtime.settings
        if settings.dev_mail_enabled and self.want_catcher:
            self.catcher = MailCatcher(settings.mail_dir, DEV_SMTP_HOST, settings.dev_mail_port)
            self.catcher.start()
            log.info(
                "dev mail catcher on port %s, messages in %s",
                settings.dev_mail_port,
                settings.mail_dir,
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
        self.scheduler.start()

    async def plan_job(self) -> None:
        try:
            report = await asyncio.to_thread(plan_once, self.runtime)
            if report and (report.planned or report.finished):
                log.info("planned %d e-mails in %d campaigns", report.planned, report.campaigns)
        except Exception:
            log.exception("planner failed; it runs again at the next tick")

    async def dispatch_job(self) -> None:
        self.last_tick = self.runtime.clock.now()
        try:
            report = await self.dispatcher.drain(max_batches=50)
            if report.claimed:
                log.info(
                    "dispatched: %d sent, %d to retry, %d failed, %d cancelled",
                    report.sent,
                    report.retried,
                    report.failed,
                    report.cancelled,
                )
        except Exception:
            log.exception(
                "dispatcher failed; claimed e-mails are picked up again when their lease ends"
            )

    async def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        await self.pool.close()
        if self.catcher is not None:
            self.catcher.stop()


async def run_worker(runtime: Runtime) -> None:
    """`nanolearn worker`: the jobs without the API, until SIGTERM or SIGINT."""
    services = BackgroundServices(runtime, mail_catcher=False)
    await services.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker %s started", worker_id())
    await stop.wait()
    await services.stop()
