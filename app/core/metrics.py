"""Prometheus metrics: what this process sent, and how deep the shared outbox is.

Counters and the latency histogram are per process (each worker is scraped on its own); the
outbox figures are read from the database at scrape time, so every process reports the same.
No label ever carries an address or a token.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.core.clock import Clock

PROCESS = CollectorRegistry()

EMAILS_SENT = Counter("nanolearn_emails_sent", "E-mails the relay accepted.", registry=PROCESS)
EMAILS_FAILED = Counter(
    "nanolearn_emails_failed",
    "Send attempts that failed, by reason: 4xx and connection are retried later, 5xx is final.",
    ["reason"],
    registry=PROCESS,
)
SEND_SECONDS = Histogram(
    "nanolearn_smtp_send_seconds",
    "Time to hand one e-mail to the relay (connecting when needed).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=PROCESS,
)
CAMPAIGNS_PAUSED = Counter(
    "nanolearn_campaigns_paused_by_failures",
    "Campaigns that paused themselves because the relay refused too much.",
    registry=PROCESS,
)
RATE_LIMITED = Counter(
    "nanolearn_dispatch_rate_limited",
    "Dispatch rounds that sent less than was due because the relay's rate limit was reached.",
    registry=PROCESS,
)

AUTH_FAILURES = Counter(
    "nanolearn_auth_failures",
    "Wrong API keys presented, by surface: api (bearer header) or dashboard (sign-in form).",
    ["surface"],
    registry=PROCESS,
)
AUTH_THROTTLED = Counter(
    "nanolearn_auth_throttled",
    "Sign-in attempts answered 429 because their address failed too often, by surface.",
    ["surface"],
    registry=PROCESS,
)

for reason in ("4xx", "5xx", "connection"):
    EMAILS_FAILED.labels(reason)  # show zeros from the start: rate() needs a first sample
for surface in ("api", "dashboard"):
    AUTH_FAILURES.labels(surface)
    AUTH_THROTTLED.labels(surface)


class OutboxCollector(Collector):
    """Outbox depth and the age of the oldest e-mail that is due but not sent yet."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock) -> None:
        self.session_factory = session_factory
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        from app.delivery.models import Delivery, DeliveryStatus

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
        depth = GaugeMetricFamily(
            "nanolearn_outbox_depth", "E-mails in the outbox, by status.", labels=["status"]
        )
        depth.add_metric(["pending"], pending)
        depth.add_metric(["sending"], sending)
        yield depth
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


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


def registry_for(session_factory: sessionmaker[Session], clock: Clock) -> CollectorRegistry:
    """This process's metrics plus the outbox of the database it uses."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Forward(PROCESS))
    registry.register(OutboxCollector(session_factory, clock))
    return registry


def exposition(session_factory: sessionmaker[Session], clock: Clock) -> bytes:
    return generate_latest(registry_for(session_factory, clock))
