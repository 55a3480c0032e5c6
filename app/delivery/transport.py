"""The one way the product sends mail: lessons, reviews, test-sends and monthly reports.

`make_transport` reads the relay settings (TLS, CA file, AUTH, timeouts) once, so everything
that sends gets the same behaviour. A transport sends one finished message at a time with up
to `concurrency` in flight, and says what happened in the outbox's words (`SendResult`). A new
kind of transport (another protocol, an HTTP API) implements this protocol and is chosen here;
the dispatcher, its crash safety, rate limits and auto-pause stay as they are.
"""

from __future__ import annotations

from typing import Protocol

from app.core.config import Settings
from app.delivery.compose import Outgoing
from app.delivery.smtp import SmtpPool
from app.outbox.results import SendResult


class Transport(Protocol):
    concurrency: int

    @property
    def label(self) -> str:
        """Where mail goes, without credentials: names the shared rate limit."""
        ...

    async def send(self, item: Outgoing) -> SendResult: ...

    async def close(self) -> None: ...


def make_transport(settings: Settings, *, concurrency: int | None = None) -> Transport:
    """The configured transport; `concurrency` overrides SMTP_CONCURRENCY (1 for a test-send)."""
    return SmtpPool(
        settings.smtp,
        mail_from=settings.mail_from,
        concurrency=concurrency or settings.smtp_concurrency,
        timeout=settings.smtp_timeout_seconds,
        ca_file=settings.smtp_ca_file,
    )
