"""A campaign whose first e-mails went out with a VERP envelope sender, one per sample."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.campaigns.models import Enrollment
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.employees.models import Employee
from app.outbox.models import Delivery, DeliveryStatus
from tests.bounces.dovecot import Dovecot, start_dovecot
from tests.bounces.samples import ALL, Sample
from tests.delivery.worker_process import SLOT, make_campaign
from tests.flow import tick
from tests.smtp_server import SmtpSink

BOUNCE_ADDRESS = "bounces@utskick.kommun.example"


@dataclass(frozen=True)
class SentMail:
    recipient: str
    envelope_sender: str
    message_id: str

    def bounce(self, sample: Sample, *, bounce_to: str | None = None) -> bytes:
        return sample.render(
            bounce_to=bounce_to or self.envelope_sender,
            recipient=self.recipient,
            message_id=self.message_id,
        )


def send_first_lessons(runtime: Runtime, clock: FakeClock, sink: SmtpSink) -> list[SentMail]:
    """p0…p5@kommun.example get their first lesson; what each e-mail went out as."""
    make_campaign(runtime, len(ALL))
    clock.set(SLOT + timedelta(minutes=1))
    assert tick(runtime).sent == len(ALL)
    by_address = {r.rcpt_tos[0]: r for r in sink.received}
    return [
        SentMail(
            f"p{i}@kommun.example",
            by_address[f"p{i}@kommun.example"].mail_from,
            str(by_address[f"p{i}@kommun.example"].message["Message-ID"]),
        )
        for i in range(len(ALL))
    ]


@pytest.fixture
def sent(runtime: Runtime, clock: FakeClock, smtp_sink: SmtpSink) -> list[SentMail]:
    runtime.settings.bounce_address = BOUNCE_ADDRESS
    return send_first_lessons(runtime, clock, smtp_sink)


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = start_dovecot()
    yield server
    server.stop()


def results(runtime: Runtime) -> list[tuple[str, str | None, bool, int]]:
    """Per person p0…p5: the e-mail's status and code, marked undeliverable, soft bounces."""
    with runtime.session_factory() as session:
        rows = session.execute(
            select(Employee.email, Delivery.status, Delivery.bounce_status, Employee)
            .join(Enrollment, Enrollment.id == Delivery.enrollment_id)
            .join(Employee, Employee.id == Enrollment.employee_id)
            .order_by(Employee.email)
        ).all()
        return [
            (str(status), code, e.undeliverable_at is not None, e.soft_bounces)
            for _email, status, code, e in rows
        ]


def expected_results() -> list[tuple[str, str | None, bool, int]]:
    """What the samples should leave behind, person by person."""
    out: list[tuple[str, str | None, bool, int]] = []
    for sample in ALL:
        if sample.verdict == "hard":
            out.append((DeliveryStatus.bounced, sample.status, True, 0))
        elif sample.verdict == "soft":
            out.append((DeliveryStatus.bounced, sample.status, False, 1))
        else:
            out.append((DeliveryStatus.sent, None, False, 0))
    return out
