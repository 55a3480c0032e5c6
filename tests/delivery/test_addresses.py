"""Addresses beyond ASCII through a real relay: IDN domains go out in ASCII form, a non-ASCII
local part goes out with SMTPUTF8 when the relay offers it and fails with a reason when not."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.employees.models import Employee
from app.outbox.models import Delivery, DeliveryStatus
from tests.delivery.worker_process import SLOT
from tests.flow import sync_lessons, tick
from tests.smtp_server import SmtpSink

CSV = (
    "förnamn;efternamn;e-post\n"
    "Anna;Lind;anna@kommun.example\n"
    "Anna;Öberg;anna@kommunö.se\n"
    "Berit;Punycode;berit@xn--kommun-1xa.se\n"
    "Åsa;Ek;åsa@example.org\n"
)
# What the relay sees in RCPT TO (the import stores the Unicode form of every domain).
ENVELOPE = {
    "anna@kommun.example": "anna@kommun.example",
    "anna@kommunö.se": "anna@xn--kommun-1xa.se",
    "berit@kommunö.se": "berit@xn--kommun-1xa.se",
    "åsa@example.org": "åsa@example.org",
}


def start_campaign(client: TestClient, runtime: Runtime, headers: dict[str, str]) -> int:
    sync_lessons(runtime)
    files = {"file": ("personal.csv", CSV.encode(), "text/csv")}
    imported = client.post("/api/v1/employees/import", files=files, headers=headers)
    assert imported.status_code == 200, imported.text
    with runtime.session_factory() as session:
        stored = set(session.scalars(select(Employee.email)))
    assert stored == set(ENVELOPE)
    body = {
        "name": "Adresser",
        "course": "radikalisering",
        "schedule": {"start_date": "2026-01-05", "weekdays": ["mon"], "time": "09:00"},
    }
    campaign_id = int(client.post("/api/v1/campaigns", json=body, headers=headers).json()["id"])
    assert client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=headers).is_success
    return campaign_id


def deliveries(runtime: Runtime) -> dict[str, Delivery]:
    from app.campaigns.models import Enrollment

    with runtime.session_factory() as session:
        rows = session.execute(
            select(Employee.email, Delivery)
            .join(Enrollment, Enrollment.employee_id == Employee.id)
            .join(Delivery, Delivery.enrollment_id == Enrollment.id)
        ).all()
        return {str(email): delivery for email, delivery in rows}


@pytest.mark.parametrize("smtputf8", [True, False])
def test_idn_and_non_ascii_addresses(
    runtime: Runtime,
    clock: FakeClock,
    client: TestClient,
    editor_headers: dict[str, str],
    smtputf8: bool,
) -> None:
    sink = SmtpSink(enable_SMTPUTF8=smtputf8).start()
    runtime.settings.smtp_url = sink.url
    campaign_id = start_campaign(client, runtime, editor_headers)
    clock.set(SLOT + timedelta(minutes=1))
    try:
        first = tick(runtime)
        clock.advance(hours=3)  # past any backoff: nothing is tried again
        again = tick(runtime)
    finally:
        sink.stop()

    unsendable = set() if smtputf8 else {"åsa@example.org"}
    assert (first.sent, first.failed, first.retried) == (4 - len(unsendable), len(unsendable), 0)
    assert again.claimed == 0
    by_address = deliveries(runtime)
    for address, delivery in by_address.items():
        assert delivery.attempts == 1
        if address in unsendable:
            assert delivery.status == DeliveryStatus.failed
            assert delivery.last_error is not None
            assert "SMTPUTF8" in delivery.last_error and "tecken före @" in delivery.last_error
            assert address not in delivery.last_error  # the reason, never the address
        else:
            assert delivery.status == DeliveryStatus.sent, delivery.last_error

    received = {r.rcpt_tos[0]: r for r in sink.received}
    assert set(received) == {ENVELOPE[a] for a in by_address if a not in unsendable}
    for envelope, got in received.items():
        assert got.smtputf8 == (not envelope.isascii())  # only where it is needed
        (to,) = got.message["To"].addresses
        assert to.addr_spec == envelope
        head = got.raw.split(b"\r\n\r\n", 1)[0]
        assert head.isascii() == envelope.isascii()
    assert received[ENVELOPE["anna@kommunö.se"]].message["To"].addresses[0].display_name == (
        "Anna Öberg"
    )

    counts = client.get(f"/api/v1/campaigns/{campaign_id}", headers=editor_headers).json()
    assert counts["counts"]["sent"] == 4 - len(unsendable)
    assert counts["counts"]["failed"] == len(unsendable)
    assert counts["counts"]["pending"] == 0


def test_a_sender_that_needs_smtputf8_blocks_instead_of_failing_each_address(
    runtime: Runtime,
) -> None:
    from app.delivery.compose import Outgoing
    from app.delivery.smtp import SmtpPool
    from app.outbox.results import Outcome

    sink = SmtpSink(enable_SMTPUTF8=False).start()
    runtime.settings.smtp_url = sink.url

    async def send(mail_from: str, to: str) -> tuple[Outcome, str, str]:
        pool = SmtpPool(runtime.settings.smtp, mail_from=mail_from, concurrency=1, timeout=5)
        try:
            result = await pool.send(Outgoing(1, to, b"Subject: x\r\n\r\nx\r\n", "<m@x>"))
        finally:
            await pool.close()
        return result.outcome, result.reason, result.error

    try:
        blocked = asyncio.run(send("Kurs <kursår@kommun.example>", "anna@kommun.example"))
        refused = asyncio.run(send("Kurs <kurs@kommunö.se>", "åsa@kommun.example"))
        sent = asyncio.run(send("Kurs <kurs@kommunö.se>", "anna@kommunö.se"))
    finally:
        sink.stop()
    assert blocked[0] == Outcome.blocked and "NANOLEARN_MAIL_FROM" in blocked[2]
    assert refused[:2] == (Outcome.permanent, "address") and "SMTPUTF8" in refused[2]
    assert sent[0] == Outcome.sent
    (received,) = sink.received
    assert (received.mail_from, received.rcpt_tos) == (
        "kurs@xn--kommun-1xa.se",
        ["anna@xn--kommun-1xa.se"],
    )
