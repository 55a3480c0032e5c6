"""Sending through Microsoft Graph: POST /users/{mailbox}/sendMail with each e-mail's MIME.

The body is the finished MIME, base64-encoded, with Content-Type text/plain (Graph's way of
sending MIME as is); the recipients are read from its To header. A token comes from the same
OAuth client-credentials flow as XOAUTH2 (scope https://graph.microsoft.com/.default). Graph
allows 4 requests in flight per mailbox, so at most that many are; a 429 or 503 with
Retry-After holds every request of the mailbox until that time, then the e-mail is tried again.

What Graph answers, in the outbox's words:
- 202: sent;
- 401: the token is refreshed once; a second 401 blocks (the login does not work);
- 403, 404 for the mailbox, ErrorSendAsDenied: blocked, with advice (permission, mailbox);
- other 4xx: permanent for this e-mail; 5xx, timeouts and too long throttling: temporary.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
import time
from urllib.parse import quote

import httpx

from app.core import metrics
from app.delivery.compose import Outgoing
from app.delivery.oauth import TokenRefused, TokenSource, who
from app.outbox.results import Outcome, SendResult

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 4  # Graph's limit of concurrent requests per mailbox
MAX_THROTTLE_SECONDS = 60.0  # longer than this throttled: give the e-mail back as temporary
DEFAULT_RETRY_AFTER = 5.0  # a 429 or 503 without Retry-After
THROTTLED = (429, 503, 504)
# Graph's error codes that mean the mailbox or the app, not this e-mail's recipient.
BLOCKING_CODES = {
    "ErrorAccessDenied",
    "ErrorSendAsDenied",
    "ErrorInvalidUser",
    "MailboxNotEnabledForRESTAPI",
    "MailboxNotFound",
    "ErrorMailboxNotFound",
    "ResourceNotFound",
    "ErrorQuotaExceeded",
}


def retry_after(response: httpx.Response) -> float:
    """Seconds to wait from a Retry-After header (seconds; an HTTP date is taken as 'a bit')."""
    value = response.headers.get("Retry-After", "")
    try:
        return min(max(float(value), 0.0), MAX_THROTTLE_SECONDS)
    except ValueError:
        return DEFAULT_RETRY_AFTER


def _error(response: httpx.Response) -> tuple[str, str]:
    """Graph's error code and message, if it sent its JSON error body."""
    try:
        error = response.json().get("error", {})
        return str(error.get("code", "")), str(error.get("message", ""))[:300]
    except (ValueError, AttributeError):
        return "", ""


def _advice(account: str, mailbox: str, status: int, code: str) -> str:
    who_ = who(account)
    if status == 401:
        return (
            f"{who_}: Microsoft Graph godtar inte appens nyckel. Be IT-avdelningen kontrollera "
            "appregistreringen i Entra ID (OAUTH_TENANT, OAUTH_CLIENT_ID) och återuppta kampanjen."
        )
    if status == 404 or code in ("ErrorInvalidUser", "MailboxNotEnabledForRESTAPI"):
        return (
            f"{who_}: brevlådan {mailbox} finns inte i Microsoft 365 eller har ingen licens för "
            "e-post. Rätta avsändarbrevlådan (mailbox) och återuppta kampanjen."
        )
    if code == "ErrorSendAsDenied":
        return (
            f"{who_}: brevlådan {mailbox} får inte skicka med den avsändaradress e-posten har. "
            "Ge brevlådan rätt att skicka som avsändaren (SendAs) eller ändra mail_from, och "
            "återuppta kampanjen."
        )
    if code == "ErrorQuotaExceeded":
        return (
            f"{who_}: brevlådan {mailbox} är full (Graph sparar skickad e-post i Skickat). Töm "
            "Skickat eller öka brevlådans lagring, och återuppta kampanjen."
        )
    return (
        f"{who_}: Microsoft Graph låter inte appen skicka e-post som {mailbox}. Be "
        "IT-avdelningen ge appen applikationsbehörigheten Mail.Send med administratörens "
        "godkännande (och, om en åtkomstpolicy begränsar appen, lägga till brevlådan i den). "
        "Återuppta sedan kampanjen."
    )


class GraphTransport:
    """One mailbox's sendMail, at most `concurrency` (≤ 4) requests in flight."""

    def __init__(
        self,
        *,
        graph_url: str,
        mailbox: str,
        tokens: TokenSource,
        concurrency: int = MAX_IN_FLIGHT,
        timeout: float = 30.0,
        tls: ssl.SSLContext | None = None,
        account: str = "default",
    ) -> None:
        self.url = f"{graph_url.rstrip('/')}/users/{quote(mailbox, safe='@')}/sendMail"
        self.mailbox = mailbox
        self.tokens = tokens
        self.concurrency = max(1, min(concurrency, MAX_IN_FLIGHT))
        self.timeout = timeout
        self.tls = tls
        self.account = account
        self._client: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._not_before = 0.0  # monotonic: Graph asked us to wait until then

    @property
    def label(self) -> str:
        return f"graph:{self.mailbox}"[:255]

    def _setup(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        if self._client is None or self._slots is None or self._loop is not loop:
            self._client = httpx.AsyncClient(
                timeout=self.timeout,
                verify=self.tls if self.tls is not None else True,
                limits=httpx.Limits(max_connections=self.concurrency),
            )
            self._slots, self._loop = asyncio.Semaphore(self.concurrency), loop
        return self._client, self._slots

    async def send(self, item: Outgoing) -> SendResult:
        started = time.perf_counter()
        try:
            result = await self._send(item)
        except (httpx.HTTPError, OSError) as exc:  # no answer: a timeout, a dropped line
            result = self._result(item, Outcome.temporary, f"Graph: {type(exc).__name__}")
        except Exception:  # a bug or an odd library error: retry later, never lose the e-mail
            log.exception("delivery %s: unexpected error while sending", item.delivery_id)
            result = self._result(item, Outcome.temporary, "Graph: unexpected error")
        if result.outcome is Outcome.sent:
            metrics.SEND_SECONDS.observe(time.perf_counter() - started)
            metrics.EMAILS_SENT.inc()
        else:
            metrics.EMAILS_FAILED.labels(result.reason).inc()
            log.debug("delivery %s: %s (%s)", item.delivery_id, result.outcome, result.code)
        return result

    def _result(
        self,
        item: Outgoing,
        outcome: Outcome,
        error: str = "",
        code: int | None = None,
        advice: str = "",
    ) -> SendResult:
        return SendResult(item.delivery_id, outcome, item.message_id, error, code, advice)

    async def _send(self, item: Outgoing) -> SendResult:
        client, slots = self._setup()
        body = base64.b64encode(item.data)
        refreshed, throttled_for = False, 0.0
        while True:
            wait = self._not_before - time.monotonic()
            if wait > 0:
                throttled_for += wait
                await asyncio.sleep(wait)
            try:
                token = await self.tokens.token()
            except TokenRefused as exc:
                return self._result(item, Outcome.blocked, str(exc), None, exc.advice)
            async with slots:
                if self._not_before > time.monotonic():
                    continue  # throttled while this one waited for a slot
                response = await client.post(
                    self.url,
                    content=body,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
                )
            status = response.status_code
            if status == 202:
                return self._result(item, Outcome.sent)
            code, message = _error(response)
            error = f"Graph {status} {code}: {message}".strip()[:500]
            if status == 401 and not refreshed:
                self.tokens.invalidate(token)  # expired or revoked early: one fresh token
                refreshed = True
                continue
            if status in THROTTLED:
                delay = retry_after(response)
                self._not_before = max(self._not_before, time.monotonic() + delay)
                if throttled_for + delay > MAX_THROTTLE_SECONDS:
                    return self._result(item, Outcome.temporary, error, status)
                continue
            if status in (401, 403) or code in BLOCKING_CODES or status == 404:
                advice = _advice(self.account, self.mailbox, status, code)
                return self._result(item, Outcome.blocked, error, status, advice)
            outcome = Outcome.permanent if 400 <= status < 500 else Outcome.temporary
            return self._result(item, outcome, error, status)

    async def close(self) -> None:
        client, self._client, self._slots = self._client, None, None
        if client is not None:
            with contextlib.suppress(RuntimeError):  # its event loop has ended: nothing to close
                await client.aclose()
