"""Sending through the relay: a pool of reused SMTP connections, and what each reply means."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from enum import StrEnum

import aiosmtplib

from app.core.config import SmtpTarget
from app.delivery.compose import Outgoing

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    sent = "sent"
    temporary = "temporary"  # 4xx, dropped connection, timeout: try again later
    permanent = "permanent"  # 5xx for this address: never try again


@dataclass(frozen=True)
class SendResult:
    delivery_id: int
    outcome: Outcome
    message_id: str
    error: str = ""
    code: int | None = None


def classify(exc: BaseException) -> tuple[Outcome, str, int | None]:
    """Map an SMTP failure to what the outbox should do with the message."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        return _by_code(first.code, first.message)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_code(exc.code, exc.message)
    if isinstance(exc, (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError)):
        return Outcome.temporary, f"{type(exc).__name__}: {exc}"[:500], None
    raise exc


def _by_code(code: int, message: str) -> tuple[Outcome, str, int]:
    text = f"{code} {message}".strip()[:500]
    return (Outcome.permanent if 500 <= code < 600 else Outcome.temporary), text, code


class SmtpPool:
    """`concurrency` connections, each reused for message after message until it fails."""

    def __init__(
        self, target: SmtpTarget, *, mail_from: str, concurrency: int, timeout: float
    ) -> None:
        self.target = target
        self.sender = parseaddr(mail_from)[1]
        self.concurrency = concurrency
        self.timeout = timeout
        self._idle: asyncio.Queue[aiosmtplib.SMTP | None] | None = None

    def _queue(self) -> asyncio.Queue[aiosmtplib.SMTP | None]:
        if self._idle is None:
            self._idle = asyncio.Queue()
            for _ in range(self.concurrency):
                self._idle.put_nowait(None)  # a slot not connected yet
        return self._idle

    async def _connect(self) -> aiosmtplib.SMTP:
        t = self.target
        client = aiosmtplib.SMTP(
            hostname=t.host,
            port=t.port,
            username=t.username,
            password=t.password,
            use_tls=t.use_tls,
            start_tls=t.start_tls if not t.use_tls else False,
            timeout=self.timeout,
        )
        await client.connect()
        return client

    async def send(self, item: Outgoing) -> SendResult:
        idle = self._queue()
        client = await idle.get()
        try:
            if client is None or not client.is_connected:
                client = await self._connect()
            await client.sendmail(self.sender, [item.recipient], item.data)
            return SendResult(item.delivery_id, Outcome.sent, item.message_id)
        except Exception as exc:
            outcome, error, code = classify(exc)
            if outcome is Outcome.temporary or not isinstance(
                exc, aiosmtplib.SMTPRecipientsRefused
            ):
                await _discard(client)
                client = None  # reconnect for the next message
            log.warning("delivery %s: %s (%s)", item.delivery_id, outcome, error.split("\n")[0])
            return SendResult(item.delivery_id, outcome, item.message_id, error, code)
        finally:
            idle.put_nowait(client)

    async def send_all(
        self,
        items: Sequence[Outgoing],
        on_result: Callable[[SendResult], Awaitable[None] | None] | None = None,
    ) -> list[SendResult]:
        """Send with up to `concurrency` messages in flight; report each result as it lands."""

        async def one(item: Outgoing) -> SendResult:
            result = await self.send(item)
            if on_result is not None:
                maybe = on_result(result)
                if maybe is not None:
                    await maybe
            return result

        return list(await asyncio.gather(*(one(i) for i in items)))

    async def close(self) -> None:
        if self._idle is None:
            return
        while not self._idle.empty():
            await _discard(self._idle.get_nowait())
        self._idle = None


async def _discard(client: aiosmtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        if client.is_connected:
            await asyncio.wait_for(client.quit(), timeout=2)
    except Exception:
        client.close()
