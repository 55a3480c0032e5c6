"""Several `nanolearn worker` processes on one PostgreSQL database share one campaign: every
e-mail goes out exactly once, and only one of them plans it."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.config import Settings
from app.core.runtime import Runtime
from app.core.tokens import message_id
from app.delivery.models import Delivery, DeliveryStatus
from tests.delivery.faulty_smtp import MessageIdHandler
from tests.delivery.worker_process import SLOT, make_campaign, start_worker, wait_for
from tests.smtp_server import SmtpSink

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("NANOLEARN_TEST_DATABASE_URL"),
        reason="several workers need PostgreSQL: SQLite has one writer at a time, so Nanolearn "
        "runs one worker per SQLite database (set NANOLEARN_TEST_DATABASE_URL to run this)",
    ),
]

EMPLOYEES = 1500


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
    options = {"smtp_url": sink.url, "dispatch_batch_size": 50}
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
    planned = [line for log in logs for line in log.splitlines() if "planned 1500" in line]
    assert len(planned) == 2  # the planner's line and the job's line, from one worker only
    assert not any("Traceback" in log or '"level": "error"' in log for log in logs)
