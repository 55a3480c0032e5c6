"""Sending's periodic jobs: plan the outbox, and dispatch it. The database is the queue: any
number of workers run these against one PostgreSQL database."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from datetime import datetime

from app.core.jobs import Job
from app.core.locks import PLANNER_LOCK_KEY, try_transaction_lock
from app.core.runtime import Runtime
from app.delivery.dispatcher import Dispatcher, DispatchReport
from app.delivery.planner import PlanReport, plan_due
from app.delivery.transport import make_transport

log = logging.getLogger(__name__)


def plan_once(runtime: Runtime) -> PlanReport | None:
    """Run the planner in its own transaction; None when another worker holds the planner lock."""
    with runtime.session_factory() as session:
        if not try_transaction_lock(session, PLANNER_LOCK_KEY):
            return None
        report = plan_due(session, runtime.clock.now())
        session.commit()
        return report


def worker_id() -> str:
    """Unique per process start: a restarted container may get the same host name and pid."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class Sending:
    """The planner and the dispatcher of one process, with the transport they share."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.transport = make_transport(runtime.settings, clock=runtime.clock)
        self.dispatcher = Dispatcher(runtime, self.transport, worker_id())
        self.last_tick: datetime | None = None
        self.heartbeat = time.monotonic()  # real time, even when the clock is simulated
        self.stopping = False

    def jobs(self) -> list[Job]:
        s = self.runtime.settings
        first_plan_now = {"next_run_time": datetime.now().astimezone()}
        return [
            Job(
                "plan_job",
                self.plan_job,
                "interval",
                {"seconds": s.plan_interval_seconds, **first_plan_now},
            ),
            Job(
                "dispatch_job",
                self.dispatch_job,
                "interval",
                {"seconds": s.dispatch_interval_seconds},
            ),
        ]

    async def start(self) -> None:
        """Start the rendering helper processes, if any."""
        await self.dispatcher.start()

    async def stop(self) -> None:
        self.stopping = True
        self.dispatcher.close()
        await self.transport.close()

    async def plan_job(self) -> None:
        self.heartbeat = time.monotonic()
        try:
            report = await asyncio.to_thread(plan_once, self.runtime)
            if report and (report.planned or report.finished):
                log.info("planned %d e-mails in %d campaigns", report.planned, report.campaigns)
        except Exception:
            log.exception("planner failed; it runs again at the next tick")

    async def dispatch_job(self, max_batches: int = 50) -> None:
        self.last_tick = self.runtime.clock.now()
        total = DispatchReport()
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
