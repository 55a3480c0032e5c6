"""The jobs of every domain in one scheduler: inside `serve`, or alone as `nanolearn worker`.

Each domain declares its periodic jobs in its own `jobs.py`; this is the one place that
collects them, so no job imports another domain's jobs.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import start_http_server

from app.bounces import jobs as bounces_jobs
from app.bounces.listener import BounceListener
from app.core.config import DEV_SMTP_HOST
from app.core.jobs import Job
from app.core.metrics import registry_for
from app.core.runtime import Runtime
from app.delivery import jobs as delivery_jobs
from app.delivery.mailcatcher import MailCatcher
from app.delivery.transport import mailbox_token_provider, mailer
from app.outbox.metrics import OutboxCollector
from app.privacy import jobs as privacy_jobs
from app.reports import jobs as reports_jobs
from app.xapi import jobs as xapi_jobs

log = logging.getLogger(__name__)


class _LongRunSkipped(logging.Filter):
    """A send that outlasts the dispatch interval just continues: no warning every 2 s."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


logging.getLogger("apscheduler.scheduler").addFilter(_LongRunSkipped())


class BackgroundServices:
    """Scheduler jobs (and the dev mail catcher) for one process."""

    def __init__(self, runtime: Runtime, *, mail_catcher: bool = True) -> None:
        self.runtime = runtime
        self.want_catcher = mail_catcher  # `serve` runs the catcher; a `worker` only sends to it
        self.sending = delivery_jobs.Sending(runtime)
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.catcher: MailCatcher | None = None
        self.bounce_listener: BounceListener | None = None
        self.running_jobs = 0

    def jobs(self) -> list[Job]:
        return [
            *self.sending.jobs(),
            *privacy_jobs.jobs(self.runtime),
            *reports_jobs.jobs(self.runtime, mailer(self.runtime.settings)),
            *xapi_jobs.jobs(self.runtime),
            *bounces_jobs.jobs(
                self.runtime,
                oauth_token=mailbox_token_provider(self.runtime.settings, self.runtime.clock),
            ),
        ]

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
        if settings.bounce_smtp_listen and self.want_catcher:  # `serve` listens, workers don't
            self.bounce_listener = BounceListener(self.runtime)
            self.bounce_listener.start()
            log.info("bounce listener on %s", settings.bounce_smtp_listen)
        for job in self.jobs():
            # One run of a job at a time per process; a missed run is not made up twice.
            self.scheduler.add_job(
                self._counted(job.run),
                job.trigger,
                id=job.name,
                name=job.name,
                max_instances=1,
                coalesce=True,
                **job.schedule,
            )
        self.scheduler.start()
        await self.sending.start()

    def _counted(self, run: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def counted() -> None:
            self.running_jobs += 1
            try:
                await run()
            finally:
                self.running_jobs -= 1

        return counted

    def not_ready(self) -> str | None:
        """Why this process cannot do its work now, or None when it can (for /readyz)."""
        if not self.scheduler.running:
            return "the scheduler is not running"
        s = self.runtime.settings
        allowed = max(60.0, 3 * max(s.plan_interval_seconds, s.dispatch_interval_seconds))
        idle = time.monotonic() - self.sending.heartbeat
        if idle > allowed:
            return f"the scheduler has not ticked for {idle:.0f} s (allowed {allowed:.0f} s)"
        return None

    async def stop(self, grace_seconds: float = 30.0) -> None:
        """Let the batch being sent finish and be recorded (up to a grace period), then stop."""
        self.sending.stopping = True
        if self.scheduler.running:
            self.scheduler.pause()
        deadline = time.monotonic() + grace_seconds
        while self.running_jobs and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.sending.stop()
        if self.catcher is not None:
            self.catcher.stop()
        if self.bounce_listener is not None:
            self.bounce_listener.stop()


def serve_background() -> None:
    """The jobs of `nanolearn serve --workers N`, in a process of their own beside the N
    serving processes (which run no jobs): the scheduler, the dev mail catcher and the bounce
    listener each run once, as with one serving process. Settings come from the environment."""
    from app.core.logging import configure_logging

    configure_logging()
    asyncio.run(run_worker(Runtime.create(), mail_catcher=True))


async def run_worker(runtime: Runtime, *, mail_catcher: bool = False) -> None:
    """`nanolearn worker`: the jobs without the API, until SIGTERM or SIGINT."""
    services = BackgroundServices(runtime, mail_catcher=mail_catcher)
    port = runtime.settings.worker_metrics_port
    if port is not None:
        registry = registry_for(OutboxCollector(runtime.session_factory, runtime.clock))
        start_http_server(port, addr=runtime.settings.host, registry=registry)
        log.info("metrics on %s:%s at /metrics", runtime.settings.host, port)
    await services.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker started")
    await stop.wait()
    await services.stop()
