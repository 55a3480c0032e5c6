from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from app.auth.audit import list_audit
from app.core.runtime import Runtime
from app.delivery.transport import mailer
from app.reports.monthly import send_monthly_reports
from app.reports.monthly_figures import first_weekday
from tests.reports.factory import Factory
from tests.smtp_server import SmtpSink

OWNERS = ["projektledare@kommun.example", "hr@kommun.example"]
# Monday 2 February 2026, 07:00 in Stockholm: 1 February is a Sunday.
FIRST_WEEKDAY = datetime(2026, 2, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
def campaign_id(session: Session) -> int:
    f = Factory(session)
    course, (l1, l2) = f.course("radikalisering", lessons=2)
    campaign = f.campaign(course)
    campaign.owner_emails = OWNERS
    campaign.started_at = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    for n in range(6):
        e = f.enroll(campaign, f.employee(f"Person{n}", "Ek", "Ekonomi"))
        f.answer(f.delivery(e, l1), l1, correct=n % 2 == 0)
        if n < 3:
            f.answer(f.delivery(e, l2), l2, correct=True)
    f.enroll(campaign, f.employee("Ensam", "Person", "Kommunjurist"))
    quiet = f.campaign(course, "Utan ägare")
    quiet.started_at = campaign.started_at
    session.commit()
    return campaign.id


def _send(runtime: Runtime, now: datetime) -> int:
    return asyncio.run(send_monthly_reports(runtime, now, mailer(runtime.settings)))


def test_first_weekday() -> None:
    assert first_weekday(2026, 2).isoformat() == "2026-02-02"  # 1st is a Sunday
    assert first_weekday(2026, 8).isoformat() == "2026-08-03"  # 1st is a Saturday
    assert first_weekday(2026, 9).isoformat() == "2026-09-01"  # a Tuesday


def test_sent_once_on_the_first_weekday_with_the_xlsx(
    runtime: Runtime, smtp_sink: SmtpSink, session: Session, campaign_id: int
) -> None:
    assert _send(runtime, FIRST_WEEKDAY) == 1
    assert _send(runtime, FIRST_WEEKDAY.replace(hour=9)) == 0  # the hourly job, again
    [received] = smtp_sink.received
    assert sorted(received.rcpt_tos) == sorted(OWNERS)
    message = received.message
    assert message["Subject"] == "Månadsrapport januari 2026: Våren 2026"
    assert message["Message-ID"] == f"<monthly-report-{campaign_id}-2026-02@kommun.example>"
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Förändring: januari 2026 jämfört med december 2025" in text
    assert re.search(r"Svar \(med repetitioner\) +9 +0 +\+9", text)
    # Kommunjurist (1) is too small, so Ekonomi (6) is merged with it: 7 people, 9 of 14.
    assert re.search(r"Övriga \(små grupper\) +7 +64 %", text)
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"manadsrapport-{campaign_id}-2026-01.xlsx"
    workbook = load_workbook(io.BytesIO(attachment.get_content()))
    assert workbook.sheetnames == ["Per förvaltning", "Sammanfattning"]
    rows = list(workbook["Per förvaltning"].iter_rows(values_only=True))
    assert rows[1][:2] == ("Övriga (små grupper)", 7)
    summary = {r[0]: r[1] for r in workbook["Sammanfattning"].iter_rows(values_only=True)}
    assert summary["Inskrivna"] == 7 and summary["Frågor besvarade"] == 9
    [entry] = list_audit(session, action="report.monthly")
    assert (entry.target, entry.actor, entry.detail) == (
        f"campaign {campaign_id}",
        "system",
        {"month": "2026-02", "recipients": 2},
    )


def test_the_day_is_the_campaigns_local_day(
    runtime: Runtime, smtp_sink: SmtpSink, campaign_id: int
) -> None:
    # Sunday 23:30 in UTC is already Monday 00:30 in Stockholm.
    assert _send(runtime, datetime(2026, 2, 1, 23, 30, tzinfo=UTC)) == 1


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 2, 1, 10, 0, tzinfo=UTC),  # Sunday the 1st
        datetime(2026, 2, 3, 6, 0, tzinfo=UTC),  # Tuesday: the second weekday
        datetime(2026, 1, 5, 6, 0, tzinfo=UTC),  # the month the campaign started
    ],
)
def test_not_on_other_days(
    runtime: Runtime, smtp_sink: SmtpSink, campaign_id: int, now: datetime
) -> None:
    assert _send(runtime, now) == 0
    assert smtp_sink.received == []


def test_a_relay_that_is_down_is_tried_again(
    runtime: Runtime, smtp_sink: SmtpSink, session: Session, campaign_id: int
) -> None:
    down = Runtime(
        runtime.settings.model_copy(update={"smtp_url": "smtp://127.0.0.1:9"}),
        runtime.engine,
        runtime.session_factory,
        runtime.clock,
    )
    assert _send(down, FIRST_WEEKDAY) == 0
    assert list_audit(session, action="report.monthly") == []
    assert _send(runtime, FIRST_WEEKDAY.replace(hour=8)) == 1
