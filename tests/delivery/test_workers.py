"""Several `nanolearn worker` processes on one PostgreSQL database share one campaign: every
e-mail goes out exactly once, and only one of them plans it. One worker can also render in
helper processes."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.clock import FakeClock
from app.core.config import Settings
from app.core.runtime import Runtime
from app.core.tokens import message_id
from app.delivery.dispatcher import Dispatcher
from app.delivery.jobs import plan_once
from app.delivery.transport import make_transport
from app.outbox.models import Delivery, DeliveryStatus
from tests.delivery.faulty_smtp import MessageIdHandler
from tests.delivery.worker_process import SLOT, make_campaign, start_worker, wait_for
from tests.smtp_server import SmtpSink

EMPLOYEES = 600
needs_postgresql = pytest.mark.skipif(
    not os.environ.get("NANOLEARN_TEST_DATABASE_URL"),
    reason="several workers need PostgreSQL: SQLite has one writer at a time, so Nanolearn "
    "runs one worker per SQLite database (set NANOLEARN_TEST_DATABASE_URL to run this)",
)


@pytest.mark.slow
@needs_postgresql
@pytest.mark.parametrize("workers", [2, 4])
def test_workers_share_a_campaign_and_send_each_email_once(
    runtime: Runtime, settings: Settings, tmp_path: Path, workers: int
) -> None:
    handler = MessageIdHandler()
    sink = SmtpSink(handler).start()
    make_campaign(runtime, EMPLOYEES)

    def all_sent() -> bool:
        with runtime.session_factory() as session:
            query = select(func.count()).where(Delivery.status == DeliveryStatus.sent)
            return session.scalar(query) == EMPLOYEES

    # Small batches, so that every worker gets its share while the others are sending.
    options = {"smtp_url": sink.url, "dispatch_batch_size": 25}
    started = [
        start_worker(settings, SLOT + timedelta(minutes=1), tmp_path / f"w{n}.log", **options)
        for n in range(workers)
    ]
    try:
        wait_for(all_sent, 60, started, "every e-mail sent", every=0.1)
    finally:
        for worker in started:
            worker.stop()
        sink.stop()

    secret, domain = settings.secret(), settings.mail_domain
    with runtime.session_factory() as session:
        rows = session.execute(select(Delivery.id, Delivery.claimed_by)).all()
    expected = {message_id(secret, delivery_id, domain) for delivery_id, _ in rows}
    received = handler.counts()
    assert set(received) == expected
    assert max(received.values()) == 1, "an e-mail arrived twice"
    assert len({claimed_by for _, claimed_by in rows}) >= 2, "the work was not shared"
    logs = [w.output() for w in started]
    planned = [line for log in logs for line in log.splitlines() if f"planned {EMPLOYEES}" in line]
    assert len(planned) == 2  # the planner's line and the job's line, from one worker only
    assert not any("Traceback" in log or '"level": "error"' in log for log in logs)


@pytest.mark.slow
def test_rendering_in_helper_processes_sends_the_same_emails(
    runtime: Runtime, clock: FakeClock, smtp_sink: SmtpSink
) -> None:
    """One worker with spare cores renders in helper processes; the mail is the same."""
    runtime.settings.render_processes = 2
    make_campaign(runtime, 120)
    clock.set(SLOT + timedelta(minutes=1))
    plan_once(runtime)

    async def send() -> int:
        pool = make_transport(runtime.settings)
        dispatcher = Dispatcher(runtime, pool, "w")
        try:
            return (await dispatcher.drain()).sent
        finally:
            dispatcher.close()
            await pool.close()

    assert asyncio.run(send()) == 120
    secret, domain = runtime.settings.secret(), runtime.settings.mail_domain
    with runtime.session_factory() as session:
        ids = list(session.scalars(select(Delivery.id)))
    received = [r.message for r in smtp_sink.received]
    assert sorted(str(m["Message-ID"]) for m in received) == sorted(
        message_id(secret, i, domain) for i in ids
    )
    assert {m["To"].addresses[0].addr_spec for m in received} == {
        f"p{i}@kommun.example" for i in range(120)
    }
