"""Prometheus metrics: what this process sent, and how deep the shared outbox is.

Counters and the latency histogram are per process (each worker is scraped on its own); the
outbox figures are read from the database at scrape time, so every process reports the same.
No label ever carries an address or a token.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

PROCESS = CollectorRegistry()

EMAILS_SENT = Counter("nanolearn_emails_sent", "E-mails the relay accepted.", registry=PROCESS)
EMAILS_FAILED = Counter(
    "nanolearn_emails_failed",
    "Send attempts that failed, by reason: 4xx and connection are retried later, 5xx is final, "
    "address is final without trying (e.g. an address that needs SMTPUTF8 the relay lacks).",
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

BOUNCES = Counter(
    "nanolearn_bounces_read",
    "Messages read from the bounce mailbox or listener, by what they were: hard, soft and policy "
    "bounces (recorded), auto_reply, notice and duplicate (ignored), forged (a tag that does not verify), unmatched "
    "(a bounce of no e-mail of ours), unknown (not a bounce: left for a person), refused (too "
    "large or unreadable).",
    ["kind"],
    registry=PROCESS,
)
BOUNCE_KINDS = (
    "hard",
    "soft",
    "policy",
    "auto_reply",
    "notice",
    "duplicate",
    "forged",
    "unmatched",
    "unknown",
    "refused",
)

for reason in ("4xx", "5xx", "connection", "address"):
    EMAILS_FAILED.labels(reason)  # show zeros from the start: rate() needs a first sample
for kind in BOUNCE_KINDS:
    BOUNCES.labels(kind)
for surface in ("api", "dashboard"):
    AUTH_FAILURES.labels(surface)
    AUTH_THROTTLED.labels(surface)


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


def registry_for(*collectors: Collector) -> CollectorRegistry:
    """This process's metrics plus `collectors` (figures read from the shared database)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Forward(PROCESS))
    for collector in collectors:
        registry.register(collector)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
