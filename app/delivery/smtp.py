"""Sending through the relay: a pool of reused SMTP connections, and what each reply means."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import time
from email.utils import parseaddr
from pathlib import Path

import aiosmtplib

from app.core import metrics
from app.core.mail_urls import SmtpTarget
from app.delivery.addresses import (
    NO_SMTPUTF8,
    SENDER_NO_SMTPUTF8,
    AddressError,
    needs_smtputf8,
    wire_address,
)
from app.delivery.compose import Outgoing
from app.delivery.oauth import TokenRefused, TokenSource, who
from app.outbox.results import Outcome, SendResult

log = logging.getLogger(__name__)


class RelayRefused(Exception):
    """Setting up the connection failed in a way no retry fixes (login, TLS, no AUTH)."""

    def __init__(self, message: str, advice: str = "") -> None:
        super().__init__(message)
        self.advice = advice  # what people should do, when we know better than the reply


# Exchange Online's answers once Basic authentication for SMTP AUTH is off for the tenant.
_BASIC_AUTH_OFF = re.compile(r"5\.7\.30|5\.7\.139|basic auth", re.IGNORECASE)


def _basic_auth_off(account: str) -> str:
    return (
        f"{who(account)}: Microsoft 365 tar inte längre emot lösenord för SMTP. Byt till "
        "inloggning med nyckel (SMTP_AUTH=xoauth2 och OAUTH-inställningarna, se README) och "
        "återuppta kampanjen."
    )


def _no_permission(account: str, mailbox: str) -> str:
    return (
        f"{who(account)}: Microsoft 365 godtar appens nyckel men låter den inte skicka som "
        f"{mailbox}. Be IT-avdelningen ge appen behörigheten SMTP.SendAsApp med "
        "administratörens godkännande, registrera appen i Exchange Online och ge den "
        "rätt till brevlådan (FullAccess eller SendAs). Återuppta sedan kampanjen."
    )


class Unsendable(Exception):
    """Not sent, and no retry helps: the address needs what the relay does not offer, or it
    cannot be written at all. `outcome` is permanent for the recipient, blocked for our sender."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


def classify(exc: BaseException) -> tuple[Outcome, str, int | None]:
    """Map an SMTP failure to what the outbox should do with the message."""
    if isinstance(exc, Unsendable):
        return exc.outcome, exc.reason, None
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        return _by_code(first.code, first.message)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        outcome, text, reply = _by_code(exc.code, exc.message)
        return (Outcome.blocked if outcome is Outcome.permanent else outcome), text, reply
    if isinstance(exc, RelayRefused):
        cause = exc.__cause__
        code = cause.code if isinstance(cause, aiosmtplib.SMTPResponseException) else None
        return Outcome.blocked, _text(f"relay refused the connection: {exc}"), code
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_code(exc.code, exc.message)
    if isinstance(exc, (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError)):
        return Outcome.temporary, _text(f"{type(exc).__name__}: {exc}"), None
    raise exc


def _cert_error(exc: BaseException) -> str | None:
    """The certificate problem behind a failed TLS handshake, however deep it is wrapped."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return str(seen.verify_message or seen)
        seen = seen.__cause__ or seen.__context__
    return None


def _text(value: str) -> str:
    return value.strip()[:500]


def _by_code(code: int, message: str) -> tuple[Outcome, str, int]:
    text = _text(f"{code} {message}")
    return (Outcome.permanent if 500 <= code < 600 else Outcome.temporary), text, code


def tls_context(ca_file: Path | None) -> ssl.SSLContext | None:
    """A verifying context trusting `ca_file` (an internal CA), or None for the system's CAs."""
    if ca_file is None:
        return None
    return ssl.create_default_context(cafile=str(ca_file))


class SmtpPool:
    """`concurrency` connections, each reused for message after message until it fails."""

    def __init__(
        self,
        target: SmtpTarget,
        *,
        mail_from: str,
        concurrency: int,
        timeout: float,
        ca_file: Path | None = None,
        tokens: TokenSource | None = None,
        mailbox: str | None = None,
        account: str = "default",
    ) -> None:
        self.target = target
        self.sender = parseaddr(mail_from)[1]
        # XOAUTH2: log in as `mailbox` with a token from `tokens` instead of a password.
        self.tokens = tokens
        self.mailbox = mailbox or target.username or self.sender
        self.account = account
        self.concurrency = concurrency
        self.timeout = timeout
        self.tls = tls_context(ca_file)
        self._idle: asyncio.Queue[aiosmtplib.SMTP | None] | None = None

    @property
    def label(self) -> str:
        return self.target.label

    def _queue(self) -> asyncio.Queue[aiosmtplib.SMTP | None]:
        if self._idle is None:
            self._idle = asyncio.Queue()
            for _ in range(self.concurrency):
                self._idle.put_nowait(None)  # a slot not connected yet
        return self._idle

    async def _connect(self) -> aiosmtplib.SMTP:
        if self.tokens is None:
            return await self._open(self.target.username, password=self.target.password)
        # XOAUTH2: EHLO, STARTTLS, EHLO, AUTH with a token; a token the relay rejects (it
        # expired, or was revoked) is dropped and a fresh one is tried once.
        for attempt in (1, 2):
            try:
                token = await self.tokens.token()
            except TokenRefused as exc:
                raise RelayRefused(str(exc), exc.advice) from exc
            try:
                return await self._open(self.mailbox, token=token)
            except aiosmtplib.SMTPAuthenticationError as exc:
                self.tokens.invalidate(token)
                if attempt == 2:
                    advice = _no_permission(self.account, self.mailbox)
                    raise RelayRefused(f"{exc.code} {exc.message}", advice) from exc
        raise AssertionError("unreachable")

    async def _open(
        self, username: str | None, *, password: str | None = None, token: str | None = None
    ) -> aiosmtplib.SMTP:
        t = self.target

        async def current_token() -> str:
            assert token is not None
            return token

        client = aiosmtplib.SMTP(
            hostname=t.host,
            port=t.port,
            username=username,
            password=password,
            oauth_token_generator=current_token if token is not None else None,
            use_tls=t.use_tls,
            start_tls=t.start_tls if not t.use_tls else False,
            tls_context=self.tls,
            timeout=self.timeout,
        )
        try:
            await client.connect()
        except aiosmtplib.SMTPResponseException as exc:  # greeting, EHLO, STARTTLS or AUTH
            if token is not None and isinstance(exc, aiosmtplib.SMTPAuthenticationError):
                raise  # _connect tries a fresh token once
            if exc.code < 500:
                raise  # 421 and friends: try again later
            advice = _basic_auth_off(self.account) if _BASIC_AUTH_OFF.search(exc.message) else ""
            raise RelayRefused(f"{exc.code} {exc.message}", advice) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            untrusted = _cert_error(exc)
            if untrusted is not None:
                raise RelayRefused(f"TLS certificate not trusted: {untrusted}") from exc
            if isinstance(exc, aiosmtplib.SMTPConnectError | ConnectionError | TimeoutError):
                raise  # nobody answered or the line dropped: try again later
            raise RelayRefused(str(exc)) from exc  # e.g. STARTTLS or AUTH not offered
        return client

    async def send(self, item: Outgoing) -> SendResult:
        idle = self._queue()
        client = await idle.get()
        started = time.perf_counter()
        try:
            sender, recipients = self._envelope(item.sender, [item.recipient, *item.also_to])
            if client is None or not client.is_connected:
                client = await self._connect()
            options = await self._mail_options(client, sender, recipients)
            await client.sendmail(sender, recipients, item.data, mail_options=options)
            metrics.SEND_SECONDS.observe(time.perf_counter() - started)
            metrics.EMAILS_SENT.inc()
            return SendResult(item.delivery_id, Outcome.sent, item.message_id)
        except Exception as exc:
            try:
                outcome, error, code = classify(exc)
            except Exception:  # a bug or an odd library error: retry later, never lose the e-mail
                log.exception("delivery %s: unexpected error while sending", item.delivery_id)
                outcome, error, code = (
                    Outcome.temporary,
                    _text(f"{type(exc).__name__}: {exc}"),
                    None,
                )
            if outcome is Outcome.temporary or not isinstance(
                exc, aiosmtplib.SMTPRecipientsRefused | Unsendable
            ):
                await _discard(client)
                client = None  # reconnect for the next message
            advice = exc.advice if isinstance(exc, RelayRefused) else ""
            result = SendResult(item.delivery_id, outcome, item.message_id, error, code, advice)
            metrics.EMAILS_FAILED.labels(result.reason).inc()
            log.debug("delivery %s: %s (%s)", item.delivery_id, outcome, error.split("\n")[0])
            return result
        finally:
            idle.put_nowait(client)

    def _envelope(self, own: str | None, recipients: list[str]) -> tuple[str, list[str]]:
        """MAIL FROM (the e-mail's own VERP sender, else MAIL_FROM) and RCPT TO addresses,
        with their domains in ASCII form."""
        try:
            sender = wire_address(own or self.sender)
        except AddressError as exc:
            setting = "NANOLEARN_BOUNCE_ADDRESS" if own else "NANOLEARN_MAIL_FROM"
            raise Unsendable(Outcome.blocked, f"{setting}: {exc}") from None
        try:
            return sender, [wire_address(r) for r in recipients]
        except AddressError as exc:
            raise Unsendable(Outcome.permanent, str(exc)) from None

    @staticmethod
    async def _mail_options(
        client: aiosmtplib.SMTP, sender: str, recipients: list[str]
    ) -> list[str]:
        """SMTPUTF8 (RFC 6531) when an address needs it: a non-ASCII local part has no ASCII
        form, so without it in the relay's EHLO the e-mail cannot be sent at all."""
        if not needs_smtputf8(sender) and not any(map(needs_smtputf8, recipients)):
            return []
        if client.is_ehlo_or_helo_needed:  # sendmail would say EHLO first; we need its answer
            with contextlib.suppress(aiosmtplib.SMTPHeloError):  # HELO only: no SMTPUTF8
                await client.ehlo()
        if not client.supports_extension("smtputf8"):
            if needs_smtputf8(sender):
                raise Unsendable(Outcome.blocked, SENDER_NO_SMTPUTF8)
            raise Unsendable(Outcome.permanent, NO_SMTPUTF8)
        return ["SMTPUTF8"]

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
