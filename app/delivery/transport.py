"""The one way the product sends mail: lessons, reviews, test-sends and monthly reports.

`make_transport` reads the relay settings (TLS, CA file, AUTH, timeouts) once, so everything
that sends gets the same behaviour. A transport sends one finished message at a time with up
to `concurrency` in flight, and says what happened in the outbox's words (`SendResult`). A new
kind of transport (another protocol, an HTTP API) implements this protocol and is chosen here;
the dispatcher, its crash safety, rate limits and auto-pause stay as they are.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

from app.core.config import Settings
from app.core.mail import Mailer
from app.delivery.compose import Outgoing
from app.delivery.smtp import SmtpPool
from app.outbox.results import Outcome, SendResult


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


def mailer(settings: Settings) -> Mailer:
    """Send one finished e-mail (not from the outbox) through the configured transport."""

    async def send(message: EmailMessage, recipients: list[str]) -> str | None:
        first, *others = recipients
        item = Outgoing(0, first, message.as_bytes(), str(message["Message-ID"]), tuple(others))
        transport = make_transport(settings, concurrency=1)
        try:
            result = await transport.send(item)
        finally:
            await transport.close()
        return None if result.outcome is Outcome.sent else result.error

    return send
