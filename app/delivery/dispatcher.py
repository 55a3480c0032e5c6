"""The dispatcher: claim due outbox rows under a lease, render, send, record each result.

Claiming is one UPDATE … RETURNING (on PostgreSQL over a SELECT … FOR UPDATE SKIP LOCKED), so
several workers share the outbox without sending anything twice. Results are recorded in small
flushes while the batch is still sending: after a crash only the messages in flight are at risk
of a second send, and they carry the same Message-ID.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar, cast

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignStatus, Enrollment, EnrollmentStatus
from app.campaigns.service import schedule_of
from app.core.runtime import Runtime
from app.delivery.compose import Outgoing, compose_batch
from app.delivery.models import Delivery, DeliveryStatus
from app.delivery.smtp import Outcome, SendResult, SmtpPool
from app.employees.models import Employee

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)


def retry_delay(attempts: int, rng: random.Random = random.SystemRandom()) -> timedelta:
    """Exponential backoff with ±20 % jitter, so workers do not retry in lockstep."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return delay * rng.uniform(0.8, 1.2)


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)


def claim(
    session: Session, worker_id: str, now: datetime, limit: int, lease: timedelta
) -> list[int]:
    """Claim up to `limit` due deliveries of running campaigns; returns the ids claimed."""
    due = or_(
        and_(Delivery.status == DeliveryStatus.pending, Delivery.due_at <= now),
        and_(Delivery.status == DeliveryStatus.sending, Delivery.lease_until < now),
    )
    candidates = (
        select(Delivery.id)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(due, Campaign.status == CampaignStatus.running)
        .order_by(Delivery.due_at, Delivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(of=Delivery, skip_locked=True)
    ids = list(session.scalars(candidates))
    if not ids:
        return []
    # The WHERE repeats the due condition, so a row another process took meanwhile is not taken.
    claimed = session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(ids), due)
        .values(
            status=DeliveryStatus.sending,
            claimed_by=worker_id,
            lease_until=now + lease,
            attempts=Delivery.attempts + 1,
        )
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed)


def cancel_unwanted(session: Session, ids: list[int]) -> list[int]:
    """Deliveries whose person left, opted out or has no address: cancelled, not sent."""
    unwanted = list(
        session.scalars(
            select(Delivery.id)
            .join(Enrollment, Enrollment.id == Delivery.enrollment_id)
            .join(Employee, Employee.id == Enrollment.employee_id)
            .where(
                Delivery.id.in_(ids),
                or_(
                    Enrollment.status != EnrollmentStatus.active,
                    Employee.active.is_(False),
                    Employee.email.is_(None),
                ),
            )
        )
    )
    if unwanted:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(unwanted))
            .values(status=DeliveryStatus.cancelled, lease_until=None)
            .execution_options(synchronize_session=False)
        )
    return unwanted


def record(session: Session, worker_id: str, results: list[SendResult], now: datetime) -> None:
    """Write send results; only rows this worker still holds are touched."""
    sent = [r for r in results if r.outcome is Outcome.sent]
    if sent:
        session.connection().execute(
            update(cast(Table, Delivery.__table__))
            .where(Delivery.id == bindparam("b_id"), Delivery.claimed_by == worker_id)
            .values(
                status=DeliveryStatus.sent,
                message_id=bindparam("b_mid"),
                sent_at=now,
                lease_until=None,
                last_error=None,
            ),
            [{"b_id": r.delivery_id, "b_mid": r.message_id} for r in sent],
        )
    for result in results:
        if result.outcome is not Outcome.sent:
            _record_failure(session, worker_id, result, now)


def _record_failure(session: Session, worker_id: str, result: SendResult, now: datetime) -> None:
    delivery = session.get(Delivery, result.delivery_id)
    if delivery is None or delivery.claimed_by != worker_id:
        return
    delivery.last_error = result.error
    delivery.lease_until = None
    if result.outcome is Outcome.permanent or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.failed
        return
    campaign = session.get(Campaign, delivery.campaign_id)
    retry_at = now + retry_delay(delivery.attempts)
    delivery.due_at = schedule_of(campaign).window_opening(retry_at) if campaign else retry_at
    delivery.status = DeliveryStatus.pending


class Dispatcher:
    def __init__(self, runtime: Runtime, pool: SmtpPool, worker_id: str) -> None:
        self.runtime = runtime
        self.pool = pool
        self.worker_id = worker_id
        self.flush_every = max(8, pool.concurrency * 2)

    def _in_session(self, work: Callable[[Session], T]) -> T:
        with self.runtime.session_factory() as session:
            value = work(session)
            session.commit()
            return value

    async def run_once(self) -> DispatchReport:
        """Claim one batch and send it; returns what happened."""
        settings, clock = self.runtime.settings, self.runtime.clock
        report = DispatchReport()
        now = clock.now()
        lease = timedelta(seconds=settings.lease_seconds)

        def claim_and_compose(session: Session) -> tuple[list[int], list[int], list[Outgoing]]:
            ids = claim(session, self.worker_id, now, settings.dispatch_batch_size, lease)
            cancelled = cancel_unwanted(session, ids) if ids else []
            wanted = [i for i in ids if i not in set(cancelled)]
            return ids, cancelled, compose_batch(session, settings, wanted, now)

        ids, cancelled, outgoing = await asyncio.to_thread(self._in_session, claim_and_compose)
        report.claimed, report.cancelled = len(ids), len(cancelled)
        if not outgoing:
            return report

        buffer: list[SendResult] = []

        async def flush() -> None:
            batch, buffer[:] = list(buffer), []
            if batch:
                when = clock.now()
                await asyncio.to_thread(
                    self._in_session, lambda s: record(s, self.worker_id, batch, when)
                )

        async def on_result(result: SendResult) -> None:
            buffer.append(result)
            if len(buffer) >= self.flush_every:
                await flush()

        results = await self.pool.send_all(outgoing, on_result)
        await flush()
        for r in results:
            if r.outcome is Outcome.sent:
                report.sent += 1
            elif r.outcome is Outcome.permanent:
                report.failed += 1
            else:
                report.retried += 1
        return report

    async def drain(self, max_batches: int = 10_000) -> DispatchReport:
        """Send everything due now (tests and the CLI): batches until nothing is claimed."""
        total = DispatchReport()
        for _ in range(max_batches):
            report = await self.run_once()
            if report.claimed == 0:
                break
            for name in ("claimed", "sent", "retried", "failed", "cancelled"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
        return total
