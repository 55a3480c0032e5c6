"""The one way the product sends mail: lessons, reviews, test-sends and monthly reports.

`make_transport` reads the sending settings (accounts, TLS, CA file, AUTH, OAuth, timeouts)
once, so everything that sends gets the same behaviour. A transport sends one finished message
at a time with up to `concurrency` in flight, and says what happened in the outbox's words
(`SendResult`). A new kind of transport (another protocol, an HTTP API) implements this
protocol and is chosen here; the dispatcher, its crash safety, rate limits and auto-pause stay
as they are.

Each sending account (app/core/accounts.py) gets its own transport: SMTP with a password or
XOAUTH2 (`SmtpPool`), or Microsoft Graph (`GraphTransport`). Several accounts make a `Fleet`:
the dispatcher spreads each batch over its accounts, each inside its own rate limits.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import Protocol

from app.core.accounts import SendingAccount
from app.core.clock import Clock, system_clock
from app.core.config import Settings
from app.core.mail import Mailer
from app.core.mail_urls import parse_smtp_url
from app.delivery.compose import Outgoing
from app.delivery.graph import GraphTransport
from app.delivery.oauth import TokenSource
from app.delivery.ratelimit import RateLimit, limits_of
from app.delivery.smtp import SmtpPool, tls_context
from app.outbox.results import Outcome, SendResult


class Transport(Protocol):
    concurrency: int

    @property
    def label(self) -> str:
        """Where mail goes, without credentials: names the shared rate limit."""
        ...

    async def send(self, item: Outgoing) -> SendResult: ...

    async def close(self) -> None: ...


_FROM = re.compile(rb"^From:[^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*", re.IGNORECASE | re.MULTILINE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def with_from(data: bytes, mail_from: str) -> bytes:
    """The message with its From header replaced (in the header block only)."""
    end = _HEADER_END.search(data)
    if end is None:
        return data
    eol = b"\r\n" if end.group().startswith(b"\r") else b"\n"
    head = data[: end.start()] + eol
    name, address = parseaddr(mail_from)
    line = f"From: {formataddr((name, address), charset='utf-8')}".encode("ascii") + eol
    new_head, count = _FROM.subn(lambda _: line, head, count=1)
    if count == 0:
        new_head = line + head
    return new_head + data[end.start() + len(eol) :]


class AsAccount:
    """An account whose From address differs from MAIL_FROM: each message says it is from it."""

    def __init__(self, inner: Transport, mail_from: str) -> None:
        self.inner, self.mail_from = inner, mail_from
        self.concurrency = inner.concurrency

    @property
    def label(self) -> str:
        return self.inner.label

    async def send(self, item: Outgoing) -> SendResult:
        return await self.inner.send(replace(item, data=with_from(item.data, self.mail_from)))

    async def close(self) -> None:
        await self.inner.close()


@dataclass
class Route:
    """One sending account as the dispatcher uses it: its transport and its limits."""

    name: str
    transport: Transport
    limits: list[RateLimit]


class Fleet:
    """Several sending accounts. The dispatcher sends through each route itself; `send` alone
    (a test-send, the monthly report) goes through the first account."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self.concurrency = sum(r.transport.concurrency for r in routes)

    @property
    def label(self) -> str:
        return ",".join(r.transport.label for r in self.routes)[:255]

    async def send(self, item: Outgoing) -> SendResult:
        return await self.routes[0].transport.send(item)

    async def close(self) -> None:
        for route in self.routes:
            await route.transport.close()


def routes_of(transport: Transport, settings: Settings) -> list[Route]:
    """The accounts the dispatcher spreads a batch over, each with its rate limits."""
    if isinstance(transport, Fleet):
        return transport.routes
    account = settings.accounts[0]
    return [Route(account.name, transport, limits_of(account, settings))]


def _account_transport(
    account: SendingAccount,
    settings: Settings,
    concurrency: int,
    tokens: dict[tuple[str, str, str], TokenSource],
    clock: Clock,
) -> Transport:
    source: TokenSource | None = None
    if account.oauth is not None:
        source = tokens.get(account.oauth.key)
        if source is None:
            source = tokens[account.oauth.key] = TokenSource(
                account.oauth,
                clock,
                account=account.name,
                timeout=settings.smtp_timeout_seconds,
                tls=tls_context(settings.smtp_ca_file),
            )
    transport: Transport
    if account.transport == "graph":
        assert source is not None
        transport = GraphTransport(
            graph_url=account.graph_url,
            mailbox=account.mailbox,
            tokens=source,
            concurrency=concurrency,
            timeout=settings.smtp_timeout_seconds,
            tls=tls_context(settings.smtp_ca_file),
            account=account.name,
        )
    else:
        transport = SmtpPool(
            parse_smtp_url(account.smtp_url),
            mail_from=account.mail_from,
            concurrency=concurrency,
            timeout=settings.smtp_timeout_seconds,
            ca_file=settings.smtp_ca_file,
            tokens=source if account.smtp_auth == "xoauth2" else None,
            mailbox=account.mailbox,
            account=account.name,
        )
    if parseaddr(account.mail_from) != parseaddr(settings.mail_from):
        transport = AsAccount(transport, account.mail_from)
    return transport


def make_transport(
    settings: Settings, *, concurrency: int | None = None, clock: Clock = system_clock
) -> Transport:
    """The configured transport; `concurrency` overrides each account's (1 for a test-send).
    `clock` decides when an OAuth token is old (the runtime's clock)."""
    accounts = settings.accounts
    tokens: dict[tuple[str, str, str], TokenSource] = {}
    built = [
        _account_transport(a, settings, concurrency or a.concurrency, tokens, clock)
        for a in accounts
    ]
    if len(built) == 1:
        return built[0]
    return Fleet(
        [Route(a.name, t, limits_of(a, settings)) for a, t in zip(accounts, built, strict=True)]
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


EXCHANGE_SCOPE = "https://outlook.office365.com/.default"  # SMTP and IMAP in Exchange Online


def mailbox_token_provider(
    settings: Settings, clock: Clock = system_clock
) -> Callable[[], str] | None:
    """Access tokens for a bounce mailbox read over IMAP with XOAUTH2 (BOUNCE_IMAP_URL
    ?auth=xoauth2): the first OAuth client of the sending accounts (the same Entra app), with
    Exchange's scope. Called from the polling thread at each login; the token is cached. None
    when no OAuth client is set (the bounce job then says what to set)."""
    oauth = next((a.oauth for a in settings.accounts if a.oauth is not None), None)
    if oauth is None:
        return None
    source = TokenSource(
        replace(oauth, scope=EXCHANGE_SCOPE),
        clock,
        account="bounces",
        timeout=settings.smtp_timeout_seconds,
        tls=tls_context(settings.smtp_ca_file),
    )
    return lambda: asyncio.run(source.token())
