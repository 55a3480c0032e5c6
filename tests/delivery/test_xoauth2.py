"""SMTP AUTH XOAUTH2 against stand-ins for Entra ID and Exchange Online (loopback servers)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr
from sqlalchemy import select

from app.campaigns.models import Campaign, CampaignStatus
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.delivery.dispatcher import Dispatcher
from app.delivery.jobs import plan_once
from app.delivery.transport import mailbox_token_provider, make_transport
from app.outbox.models import Delivery, DeliveryStatus
from tests.delivery.faulty_smtp import self_signed_cert
from tests.delivery.m365 import (
    CLIENT_ID,
    CLIENT_SECRET,
    OUTLOOK,
    TokenServer,
    XoauthHandler,
    XoauthRelay,
)
from tests.delivery.worker_process import SLOT, make_campaign
from tests.flow import tick
from tests.smtp_server import free_port

MAILBOX = "kurs@kommun.example"  # the MAIL_FROM of the test settings


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    try:
        return self_signed_cert(tmp_path)
    except (OSError, Exception) as exc:
        pytest.skip(f"cannot make a test certificate with openssl: {exc}")


@pytest.fixture
def tokens(clock: FakeClock) -> Iterator[TokenServer]:
    server = TokenServer(clock).start()
    yield server
    server.stop()


def use_xoauth2(runtime: Runtime, relay: XoauthRelay, tokens: TokenServer, ca: Path) -> None:
    s = runtime.settings
    s.smtp_url = relay.url(MAILBOX)
    s.smtp_auth = "xoauth2"
    s.oauth_token_url = tokens.url
    s.oauth_client_id = CLIENT_ID
    s.oauth_client_secret = SecretStr(CLIENT_SECRET)
    s.smtp_ca_file = ca


def campaign(runtime: Runtime, campaign_id: int) -> Campaign:
    with runtime.session_factory() as session:
        found = session.get(Campaign, campaign_id)
        assert found is not None
        return found


def statuses(runtime: Runtime) -> list[DeliveryStatus]:
    with runtime.session_factory() as session:
        return list(session.scalars(select(Delivery.status)))


def test_a_campaign_goes_out_over_xoauth2_with_one_cached_token(
    runtime: Runtime,
    clock: FakeClock,
    cert: tuple[Path, Path],
    tokens: TokenServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = XoauthHandler(tokens, {MAILBOX})
    relay = XoauthRelay(*cert, handler).start()
    use_xoauth2(runtime, relay, tokens, cert[0])
    make_campaign(runtime, 6)
    clock.set(SLOT + timedelta(minutes=1))
    caplog.set_level(logging.DEBUG)
    try:
        report = tick(runtime)
    finally:
        relay.stop()
    assert report.sent == 6
    assert sorted(rcpt for _, rcpt, _ in handler.received) == sorted(
        f"p{i}@kommun.example" for i in range(6)
    )
    assert {login for login, _, _ in handler.received} == {MAILBOX}
    # Four connections, one token: the first sender fetched it, the others waited for it.
    assert tokens.fetches == 1 and tokens.scopes_asked == [OUTLOOK]
    assert handler.rejected == 0
    assert CLIENT_SECRET not in caplog.text
    assert not any(token in caplog.text for token in tokens.tokens)


def test_tokens_expire_during_a_send_and_are_refreshed(
    runtime: Runtime, clock: FakeClock, cert: tuple[Path, Path], tokens: TokenServer
) -> None:
    """A long send on one connection at a time: each accepted e-mail takes 4 minutes, tokens
    live 20. Greylisting (451) makes the relay drop us now and then, so we log in again: with the
    cached token while it is fresh, with a new one once it is old, and with a new one when the
    relay rejects one that the token server has withdrawn early."""
    tokens.lifetime = timedelta(minutes=20)
    accepted = 0

    def four_minutes_pass() -> None:
        nonlocal accepted
        accepted += 1
        clock.advance(minutes=4)
        if accepted == 8:
            tokens.expire_all()  # the relay will reject the token we still believe in

    handler = _Greylisting(tokens, {MAILBOX}, on_message=four_minutes_pass, fail={4, 8, 11})
    relay = XoauthRelay(*cert, handler).start()
    use_xoauth2(runtime, relay, tokens, cert[0])
    runtime.settings.smtp_concurrency = 1
    make_campaign(runtime, 12)
    clock.set(SLOT + timedelta(minutes=1))
    plan_once(runtime)

    async def send() -> tuple[int, int]:
        transport = make_transport(runtime.settings, clock=runtime.clock)  # as a worker keeps it
        dispatcher = Dispatcher(runtime, transport, "worker")
        try:
            report = await dispatcher.drain()
            clock.advance(minutes=5)  # the greylisted ones are due again
            report.add(await dispatcher.drain())
        finally:
            await transport.close()
        return report.sent, report.retried

    try:
        sent, retried = asyncio.run(send())
    finally:
        relay.stop()
    assert (sent, retried) == (12, 3)
    rcpts = [rcpt for _, rcpt, _ in handler.received]
    assert sorted(rcpts) == sorted(f"p{i}@kommun.example" for i in range(12))  # each once
    # The first token; a new one after 24 minutes (the old was due for renewal at 15); one
    # more after the relay rejected the withdrawn one. No other login failed.
    assert tokens.fetches == 3
    assert handler.rejected == 1
    assert set(statuses(runtime)) == {DeliveryStatus.sent}


def test_a_revoked_client_pauses_the_campaign_with_a_reason_people_understand(
    runtime: Runtime,
    clock: FakeClock,
    cert: tuple[Path, Path],
    tokens: TokenServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = XoauthHandler(tokens, {MAILBOX})
    relay = XoauthRelay(*cert, handler).start()
    use_xoauth2(runtime, relay, tokens, cert[0])
    tokens.revoke_client()  # someone deleted the client secret in Entra ID
    campaign_id = make_campaign(runtime, 5)
    clock.set(SLOT + timedelta(minutes=1))
    try:
        report = tick(runtime)
    finally:
        relay.stop()
    assert report.sent == 0 and handler.received == []
    paused = campaign(runtime, campaign_id)
    assert paused.status == CampaignStatus.paused
    reason = paused.status_reason
    assert "Klienthemligheten (OAUTH_CLIENT_SECRET) är fel eller har gått ut" in reason
    assert "AADSTS7000215" in reason and "återuppta kampanjen" in reason
    assert CLIENT_SECRET not in reason and CLIENT_SECRET not in caplog.text
    # Nothing is lost: the unsent e-mails are planned again when the campaign resumes.
    assert DeliveryStatus.sent not in statuses(runtime)


def test_a_missing_permission_pauses_the_campaign_after_one_fresh_token(
    runtime: Runtime, clock: FakeClock, cert: tuple[Path, Path], tokens: TokenServer
) -> None:
    handler = XoauthHandler(tokens, mailboxes=set())  # no SMTP.SendAsApp for this mailbox
    relay = XoauthRelay(*cert, handler).start()
    use_xoauth2(runtime, relay, tokens, cert[0])
    runtime.settings.smtp_concurrency = 1
    campaign_id = make_campaign(runtime, 3)
    clock.set(SLOT + timedelta(minutes=1))
    try:
        report = tick(runtime)
    finally:
        relay.stop()
    assert report.sent == 0
    paused = campaign(runtime, campaign_id)
    assert paused.status == CampaignStatus.paused
    assert "SMTP.SendAsApp" in paused.status_reason and MAILBOX in paused.status_reason
    assert "535 5.7.3" in paused.status_reason
    assert (tokens.fetches, handler.rejected) == (2, 2)  # the token was renewed once, not more


class _Greylisting(XoauthHandler):
    """Answers 451 to the RCPT commands numbered in `fail` (counting every RCPT)."""

    def __init__(self, *args: Any, fail: set[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fail, self.rcpts = fail, 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.rcpts += 1
        if self.rcpts in self.fail:
            return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class _BasicAuthOff:
    """Exchange Online once Basic authentication for SMTP AUTH is off for the tenant."""

    async def handle_AUTH(self, server: Any, session: Any, envelope: Any, args: Any) -> str:
        return "535 5.7.139 Authentication unsuccessful, basic authentication is disabled."


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_password_after_basic_auth_is_switched_off_says_to_use_xoauth2(
    runtime: Runtime, clock: FakeClock
) -> None:
    port = free_port()
    relay = Controller(
        _BasicAuthOff(), hostname="127.0.0.1", port=port, auth_required=True,
        auth_require_tls=False,
    )  # fmt: skip
    relay.start()
    runtime.settings.smtp_url = f"smtp://larande%40kommun.se:gammalt@127.0.0.1:{port}"
    campaign_id = make_campaign(runtime, 2)
    clock.set(SLOT + timedelta(minutes=1))
    try:
        assert tick(runtime).sent == 0
    finally:
        relay.stop()
    reason = campaign(runtime, campaign_id).status_reason
    assert "tar inte längre emot lösenord för SMTP" in reason and "SMTP_AUTH=xoauth2" in reason
    assert "5.7.139" in reason and "gammalt" not in reason


def test_the_bounce_mailbox_gets_exchange_tokens_from_the_same_entra_app(
    runtime: Runtime, tokens: TokenServer
) -> None:
    s = runtime.settings
    assert mailbox_token_provider(s, runtime.clock) is None  # no OAuth client: the job says so
    s.smtp_auth = "xoauth2"
    s.oauth_token_url = tokens.url
    s.oauth_client_id = CLIENT_ID
    s.oauth_client_secret = SecretStr(CLIENT_SECRET)
    provider = mailbox_token_provider(s, runtime.clock)
    assert provider is not None
    first = provider()  # called from the polling thread, as the IMAP login does
    assert provider() == first and tokens.fetches == 1  # cached
    assert tokens.valid(first, "https://outlook.office365.com/.default")
