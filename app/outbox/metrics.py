"""The outbox's figures for Prometheus, read from the database at scrape time, so every process
reports the same depth and age."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.core.clock import Clock
from app.employees.models import Employee
from app.outbox.models import Delivery, DeliveryStatus


class OutboxCollector(Collector):
    """Outbox depth, the age of the oldest e-mail that is due but not sent yet, bounced e-mails
    and undeliverable addresses."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock) -> None:
        self.session_factory = session_factory
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock.now()
        due = (Delivery.status == DeliveryStatus.pending) & (Delivery.due_at <= now)
        with self.session_factory() as session:
            pending, sending, due_count, oldest = session.execute(
                select(
                    func.count(case((Delivery.status == DeliveryStatus.pending, 1))),
                    func.count(case((Delivery.status == DeliveryStatus.sending, 1))),
                    func.count(case((due, 1))),
                    func.min(case((due, Delivery.due_at))),
                ).where(Delivery.status.in_([DeliveryStatus.pending, DeliveryStatus.sending]))
            ).one()
            bounced = session.scalar(
                select(func.count()).where(Delivery.status == DeliveryStatus.bounced)
            )
            undeliverable = session.scalar(
                select(func.count()).where(
                    Employee.undeliverable_at.is_not(None), Employee.active.is_(True)
                )
            )
        depth = GaugeMetricFamily(
            "nanolearn_outbox_depth", "E-mails in the outbox, by status.", labels=["status"]
        )
        depth.add_metric(["pending"], pending)
        depth.add_metric(["sending"], sending)
        yield depth
        yield GaugeMetricFamily(
            "nanolearn_emails_bounced",
            "E-mails the relay accepted that came back as bounces (status bounced).",
            value=bounced or 0,
        )
        yield GaugeMetricFamily(
            "nanolearn_employees_undeliverable",
            "Active employees whose address bounced and who get no e-mails until it changes.",
            value=undeliverable or 0,
        )
        yield GaugeMetricFamily(
            "nanolearn_outbox_due", "Pending e-mails whose time has come.", value=due_count
        )
        yield GaugeMetricFamily(
            "nanolearn_outbox_oldest_due_age_seconds",
            "How long the oldest due e-mail has waited (0 when none waits).",
            value=_age(now, oldest),
        )


def _age(now: datetime, oldest: datetime | str | None) -> float:
    if oldest is None:
        return 0.0
    if isinstance(oldest, str):  # SQLite returns MIN() of a CASE as text
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (now - oldest).total_seconds())
