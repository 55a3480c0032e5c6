"""A relay that misbehaves: every e-mail still ends sent, or failed with the relay's reason."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.campaigns.models import Campaign, CampaignStatus
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.outbox.models import Delivery, DeliveryStatus
from tests.delivery.faulty_smtp import (
    FaultInjectingHandler,
    FaultPlan,
    TlsAuthRelay,
    message_id_of,
    self_signed_cert,
)
from tests.delivery.worker_process import SLOT, make_campaign
from tests.flow import tick
from tests.smtp_server import SmtpSink

STUCK = (DeliveryStatus.pending, DeliveryStatus.sending)


def address(i: int) -> str:
    return f"p{i}@kommun.example"


def deliveries(runtime: Runtime) -> list[Delivery]:
    with runtime.session_factory() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def campaign(runtime: Runtime, campaign_id: int) -> Campaign:
    with runtime.session_factory() as session:
        found = session.get(Campaign, campaign_id)
        assert found is not None
        return found


def use_relay(runtime: Runtime, sink: SmtpSink) -> SmtpSink:
    runtime.settings.smtp_url = sink.url
    return sink.start()


def tick_until_settled(runtime: Runtime, clock: FakeClock, rounds: int = 30) -> int:
    """Tick, move the clock past the backoff, repeat until nothing is pending or sending."""
    for n in range(rounds):
        tick(runtime)
        if not any(d.status in STUCK for d in deliveries(runtime)):
            return n
        clock.advance(minutes=10)
    raise AssertionError(f"still pending after {rounds} rounds: {deliveries(runtime)}")


def test_troubled_relay_every_email_ends_sent_or_failed_with_its_reason(
    runtime: Runtime, clock: FakeClock, client: TestClient, editor_headers: dict[str, str]
) -> None:
    plans = {address(i): FaultPlan("451", 1) for i in range(0, 5)}
    plans |= {address(i): FaultPlan("421", 2) for i in range(5, 10)}
    plans |= {address(i): FaultPlan("drop", 2) for i in range(10, 15)}
    plans |= {address(i): FaultPlan("slow", 1) for i in range(15, 18)}
    plans |= {address(i): FaultPlan("550") for i in range(18, 22)}
    handler = FaultInjectingHandler(plans=plans, slow_seconds=1.5)
    sink = use_relay(runtime, SmtpSink(handler))
    runtime.settings.smtp_timeout_seconds = 0.5
    campaign_id = make_campaign(runtime, 40)
    clock.set(SLOT + timedelta(minutes=1))
    try:
        tick_until_settled(runtime, clock)
    finally:
        sink.stop()

    rows = deliveries(runtime)
    by_status = Counter(d.status for d in rows)
    assert by_status == {DeliveryStatus.sent: 36, DeliveryStatus.failed: 4}
    rejected = {address(i) for i in range(18, 22)}
    for d in rows:
        if d.status == DeliveryStatus.failed:
            assert d.last_error is not None and d.last_error.startswith("550 5.1.1")
            assert d.attempts == 1  # never retried
    received = Counter(message_id_of(r.raw) for r in handler.received)
    sent_ids = {d.message_id for d in rows if d.status == DeliveryStatus.sent}
    assert set(received) == sent_ids
    # A reply that came after we gave up (slow) means the relay had it: the retry repeats it,
    # with the same Message-ID. Nothing else arrives twice.
    twice = {r.rcpt_tos[0] for r in handler.received if received[message_id_of(r.raw)] > 1}
    assert twice == {address(i) for i in range(15, 18)}
    assert not rejected & {r.rcpt_tos[0] for r in handler.received}
    assert campaign(runtime, campaign_id).status == CampaignStatus.running
    counts = client.get(f"/api/v1/campaigns/{campaign_id}", headers=editor_headers).json()
    assert (counts["counts"]["sent"], counts["counts"]["failed"]) == (36, 4)
    assert counts["counts"]["pending"] == 0


def test_a_retry_that_would_land_after_the_window_waits_for_the_next_window(
    runtime: Runtime, clock: FakeClock
) -> None:
    handler = FaultInjectingHandler(plans={address(i): FaultPlan("451", 1) for i in range(6)})
    sink = use_relay(runtime, SmtpSink(handler))
    schedule = {"start_date": "2026-01-05", "weekdays": ["mon"], "time": "16:59"}
    make_campaign(runtime, 6, schedule=schedule)
    monday_1659_30 = datetime(2026, 1, 5, 15, 59, 30, tzinfo=UTC)  # local 16:59:30
    tuesday_0700 = datetime(2026, 1, 6, 6, 0, tzinfo=UTC)  # the window opens at 07:00 local
    clock.set(monday_1659_30)
    try:
        assert tick(runtime).retried == 6  # 451: a retry at least 48 s later is after 17:00
        assert {d.due_at for d in deliveries(runtime)} == {tuesday_0700}
        clock.set(datetime(2026, 1, 5, 16, 30, tzinfo=UTC))
        assert tick(runtime).claimed == 0
        clock.set(tuesday_0700 - timedelta(seconds=1))
        assert tick(runtime).claimed == 0
        clock.set(tuesday_0700)
        assert tick(runtime).sent == 6
    finally:
        sink.stop()
    for r in handler.received:
        local = r.message["Date"].datetime.astimezone(runtime.settings.timezone_info)
        assert (local.weekday(), local.hour) == (1, 7)


def test_relay_refusing_our_sender_pauses_the_campaign_and_says_why(
    runtime: Runtime, clock: FakeClock
) -> None:
    handler = FaultInjectingHandler(refuse_sender=True)
    sink = use_relay(runtime, SmtpSink(handler))
    campaign_id = make_campaign(runtime, 30)
    clock.set(SLOT + timedelta(minutes=1))
    try:
        report = tick(runtime)
        paused = campaign(runtime, campaign_id)
        assert paused.status == CampaignStatus.paused
        assert "refuses to send for us" in paused.status_reason
        assert "550 5.7.1" in paused.status_reason
        assert report.paused == [campaign_id]
        # It stopped at once: only the messages already on their way were tried.
        assert report.sent + report.failed == 0
        assert report.retried <= runtime.settings.smtp_concurrency
        assert deliveries(runtime) == []  # dropped like any pause; resume plans them again
        handler.refuse_sender = False
        with runtime.session_factory() as session:
            from app.campaigns.service import transition

            found = session.get(Campaign, campaign_id)
            assert found is not None
            transition(session, found, "resume", clock.now())
            session.commit()
        assert tick(runtime).sent == 30
    finally:
        sink.stop()
    subjects = Counter(str(r.message["Subject"]) for r in handler.received)
    assert len(subjects) == 1  # everybody got lesson 1, once


def test_too_many_refused_addresses_pause_the_campaign(runtime: Runtime, clock: FakeClock) -> None:
    runtime.settings.failure_pause_window = 10
    runtime.settings.failure_pause_percent = 30
    handler = FaultInjectingHandler(plans={address(i): FaultPlan("550") for i in range(1, 20, 2)})
    sink = use_relay(runtime, SmtpSink(handler))
    campaign_id = make_campaign(runtime, 20)
    clock.set(SLOT + timedelta(minutes=1))
    try:
        report = tick(runtime)
    finally:
        sink.stop()
    assert (report.sent, report.failed, report.paused) == (10, 10, [campaign_id])
    paused = campaign(runtime, campaign_id)
    assert paused.status == CampaignStatus.paused
    assert "5 of the last 10 e-mails were refused" in paused.status_reason
    assert "more than 30 %" in paused.status_reason


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    try:
        return self_signed_cert(tmp_path)
    except (OSError, Exception) as exc:  # no openssl binary: AUTH without TLS is not the point
        pytest.skip(f"cannot make a test certificate with openssl: {exc}")


@pytest.mark.parametrize(
    ("implicit", "password", "trust", "outcome"),
    [
        (False, "hemligt:p@ss", True, "sent"),  # STARTTLS on 587
        (True, "hemligt:p@ss", True, "sent"),  # TLS from the start on 465 (smtps://)
        (False, "fel", True, "535"),
        (False, "hemligt:p@ss", False, "certificate"),
    ],
)
# With TLS below SMTP, aiosmtpd cannot see that AUTH is encrypted, and says so.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_tls_and_auth_against_a_relay_that_requires_both(
    runtime: Runtime,
    clock: FakeClock,
    cert: tuple[Path, Path],
    implicit: bool,
    password: str,
    trust: bool,
    outcome: str,
) -> None:
    relay = TlsAuthRelay(*cert, login="nanolearn", password="hemligt:p@ss", implicit=implicit)
    relay.start()
    runtime.settings.smtp_url = relay.url_for("nanolearn", password)
    runtime.settings.smtp_ca_file = cert[0] if trust else None
    campaign_id = make_campaign(runtime, 6)
    clock.set(SLOT + timedelta(minutes=1))
    try:
        report = tick(runtime)
    finally:
        relay.stop()
    if outcome == "sent":
        assert report.sent == 6
        assert relay.handler.sessions == [(True, "nanolearn")] * 6
        return
    assert report.sent == 0 and relay.handler.sessions == []
    paused = campaign(runtime, campaign_id)
    assert paused.status == CampaignStatus.paused
    assert outcome in paused.status_reason
