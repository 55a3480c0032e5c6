"""What a bounce changes: the e-mail, the person (no more e-mails until the address is
corrected), the counts, the HR report, the dashboard, /metrics and the list for HR."""

from __future__ import annotations

import csv
import io
import zipfile

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.bounces.service import Verdict, handle_message
from app.campaigns.models import Campaign
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.employees.importer import EmployeeRow
from app.employees.models import Employee
from app.employees.staff_import import import_employees
from app.outbox.models import Delivery, DeliveryStatus
from tests.bounces.conftest import SentMail, expected_results, results, send_first_lessons
from tests.bounces.samples import ALL, Sample
from tests.dashboard.conftest import new_key, sign_in
from tests.flow import run_slots
from tests.smtp_server import SmtpSink

HARD, SOFT = ALL[0], ALL[3]


def handle(runtime: Runtime, data: bytes) -> Verdict:
    with runtime.session_factory() as session:
        verdict = handle_message(session, runtime.settings, data, runtime.clock.now())
        session.commit()
    return verdict


def campaign_id(runtime: Runtime) -> int:
    with runtime.session_factory() as session:
        return int(session.scalars(select(Campaign.id)).one())


def employee(runtime: Runtime, email: str) -> Employee:
    with runtime.session_factory() as session:
        found = session.scalars(select(Employee).where(Employee.email == email)).one()
        session.expunge(found)
        return found


def test_without_bounce_address_the_quoted_message_id_is_used(
    runtime: Runtime, clock: FakeClock, smtp_sink: SmtpSink
) -> None:
    sent = send_first_lessons(runtime, clock, smtp_sink)
    assert {m.envelope_sender for m in sent} == {"kurs@kommun.example"}  # MAIL_FROM, no VERP
    verdicts = [
        handle(runtime, mail.bounce(sample)) for mail, sample in zip(sent, ALL, strict=True)
    ]
    assert verdicts == [s.verdict for s in ALL]
    assert results(runtime) == expected_results()


def test_a_forged_message_id_changes_nothing(
    runtime: Runtime, clock: FakeClock, smtp_sink: SmtpSink
) -> None:
    sent = send_first_lessons(runtime, clock, smtp_sink)
    real = sent[0].message_id  # <nl.ID.TAG@domain>
    forged = real.replace(real.split(".")[2].split("@")[0], "A" * 12)
    data = HARD.render(
        bounce_to="kurs@kommun.example", recipient=sent[0].recipient, message_id=forged
    )
    assert handle(runtime, data) is Verdict.forged
    assert results(runtime) == [("sent", None, False, 0)] * len(ALL)


def test_an_undeliverable_person_gets_nothing_until_the_address_is_corrected(
    runtime: Runtime,
    clock: FakeClock,
    sent: list[SentMail],
    client: TestClient,
    editor_headers: dict[str, str],
) -> None:
    assert handle(runtime, sent[0].bounce(HARD)) is Verdict.hard
    marked = employee(runtime, sent[0].recipient)
    assert marked.undeliverable_at is not None
    assert "5.1.10" in (marked.undeliverable_reason or "")

    run_slots(runtime, clock, campaign_id(runtime), 1)
    with runtime.session_factory() as session:
        second = session.scalars(
            select(Delivery.status).where(Delivery.enrollment_id == 1).order_by(Delivery.id)
        ).all()
    assert second == [DeliveryStatus.bounced, DeliveryStatus.cancelled]

    listed = client.get("/api/v1/employees/undeliverable", headers=editor_headers)
    assert listed.status_code == 200
    assert [p["email"] for p in listed.json()] == [sent[0].recipient]

    patched = client.patch(
        f"/api/v1/employees/{marked.id}",
        json={"email": "p0.ny@kommun.example"},
        headers=editor_headers,
    )
    assert patched.status_code == 200, patched.text
    fixed = employee(runtime, "p0.ny@kommun.example")
    assert (fixed.undeliverable_at, fixed.undeliverable_reason, fixed.soft_bounces) == (
        None,
        None,
        0,
    )
    assert client.get("/api/v1/employees/undeliverable", headers=editor_headers).json() == []
    assert handle(runtime, sent[0].bounce(HARD)) is Verdict.duplicate  # counted once
    run_slots(runtime, clock, campaign_id(runtime), 1)
    with runtime.session_factory() as session:
        last = session.scalars(
            select(Delivery.status).where(Delivery.enrollment_id == 1).order_by(Delivery.id.desc())
        ).first()
    assert last == DeliveryStatus.sent


def test_a_late_bounce_of_the_old_address_says_nothing_about_the_new_one(
    runtime: Runtime, sent: list[SentMail], client: TestClient, editor_headers: dict[str, str]
) -> None:
    person = employee(runtime, sent[4].recipient)
    changed = client.patch(
        f"/api/v1/employees/{person.id}",
        json={"email": "p4.ny@kommun.example"},
        headers=editor_headers,
    )
    assert changed.status_code == 200
    assert handle(runtime, sent[4].bounce(HARD)) is Verdict.hard
    assert results(runtime)[4][:2] == ("bounced", "5.1.10")  # the e-mail did bounce
    assert employee(runtime, "p4.ny@kommun.example").undeliverable_at is None


def test_soft_bounces_mark_after_the_limit_and_count_once_each(
    runtime: Runtime, clock: FakeClock, sent: list[SentMail], smtp_sink: SmtpSink
) -> None:
    runtime.settings.bounce_soft_limit = 2
    person = sent[3]
    assert handle(runtime, person.bounce(SOFT)) is Verdict.soft
    assert handle(runtime, person.bounce(SOFT)) is Verdict.duplicate  # the same bounce again
    assert employee(runtime, person.recipient).soft_bounces == 1
    assert employee(runtime, person.recipient).undeliverable_at is None

    run_slots(runtime, clock, campaign_id(runtime), 1)
    second = [r for r in smtp_sink.received if r.rcpt_tos == [person.recipient]][-1]
    again = SentMail(person.recipient, second.mail_from, str(second.message["Message-ID"]))
    assert again.envelope_sender != person.envelope_sender  # one tag per e-mail
    assert handle(runtime, again.bounce(SOFT)) is Verdict.soft
    assert employee(runtime, person.recipient).undeliverable_at is not None


def test_an_import_with_a_new_address_clears_the_mark(
    runtime: Runtime, sent: list[SentMail]
) -> None:
    handle(runtime, sent[1].bounce(ALL[1]))
    handle(runtime, sent[2].bounce(ALL[2]))
    with runtime.session_factory() as session:  # an import finds people by number or address
        p1 = session.scalars(select(Employee).where(Employee.email == sent[1].recipient)).one()
        p1.employee_number = "A1"
        session.commit()
    rows = [
        EmployeeRow(2, "p1.ratt@kommun.example", "Förnamn1", "Efternamn", "Avd", "A1"),
        EmployeeRow(3, "p2@kommun.example", "Förnamn2", "Efternamn", "Avd", None),
    ]
    with runtime.session_factory() as session:
        result = import_employees(
            session, rows, mode="upsert", dry_run=False, now=runtime.clock.now()
        )
        assert not result.errors
        session.commit()
    assert employee(runtime, "p1.ratt@kommun.example").undeliverable_at is None
    assert employee(runtime, "p2@kommun.example").undeliverable_at is not None  # same address


def test_bounces_show_in_counts_report_dashboard_metrics_and_the_list(
    runtime: Runtime,
    sent: list[SentMail],
    client: TestClient,
    editor_headers: dict[str, str],
    reporter_headers: dict[str, str],
) -> None:
    for mail, sample in zip(sent, ALL, strict=True):
        handle(runtime, mail.bounce(sample))
    cid = campaign_id(runtime)

    counts = client.get(f"/api/v1/campaigns/{cid}", headers=reporter_headers).json()["counts"]
    assert (counts["sent"], counts["bounced"]) == (2, 4)

    report = client.get(
        "/api/v1/reports/completion",
        params={"campaign": cid, "format": "csv", "separator": "comma"},
        headers=reporter_headers,
    )
    header, *rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"), newline="")))
    by_email = {r[header.index("E-post")]: dict(zip(header, r, strict=True)) for r in rows}
    assert by_email[sent[0].recipient]["Studsade"] == "1"
    assert "RecipientNotFound" in by_email[sent[0].recipient]["Studsorsak"]
    assert by_email[sent[5].recipient]["Studsade"] == "0"

    metrics = client.get("/metrics").text
    assert "nanolearn_emails_bounced 4.0" in metrics
    assert "nanolearn_employees_undeliverable 3.0" in metrics
    assert 'nanolearn_bounces_read_total{kind="hard"}' in metrics

    sign_in(client, new_key(runtime))
    page = client.get(f"/dashboard/campaigns/{cid}").text
    assert "4 e-brev studsade" in page

    listed = client.get(
        "/api/v1/employees/undeliverable", params={"format": "csv"}, headers=editor_headers
    )
    assert listed.status_code == 200
    assert "studsade-adresser-" in listed.headers["content-disposition"]
    # No Accept-Language: the installation's language, Swedish, so semicolons.
    text = listed.content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert lines[0] == [
        "Namn",
        "E-post",
        "Förvaltning",
        "Anställningsnummer",
        "Studsar sedan",
        "Orsak",
    ]
    assert [line[1] for line in lines[1:]] == [m.recipient for m in sent[:3]]
    xlsx = client.get(
        "/api/v1/employees/undeliverable", params={"format": "xlsx"}, headers=editor_headers
    )
    assert xlsx.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(xlsx.content)).testzip() is None
    assert (
        client.get("/api/v1/employees/undeliverable", headers=reporter_headers).status_code == 403
    )


def test_a_policy_refusal_bounces_the_email_but_not_the_person(
    runtime: Runtime, sent: list[SentMail]
) -> None:
    policy = (
        ALL[1]
        .render(
            bounce_to=sent[1].envelope_sender,
            recipient=sent[1].recipient,
            message_id=sent[1].message_id,
        )
        .replace(b"5.1.1", b"5.7.1")
    )
    assert handle(runtime, policy) is Verdict.policy
    person = employee(runtime, sent[1].recipient)
    assert (person.undeliverable_at, person.soft_bounces) == (None, 0)
    assert results(runtime)[1] == ("bounced", "5.7.1", False, 0)


def test_unreadable_and_huge_messages_are_refused(runtime: Runtime, sent: list[SentMail]) -> None:
    runtime.settings.bounce_max_kb = 16
    assert handle(runtime, b"\x00\xff" * 20_000) is Verdict.refused
    assert handle(runtime, b"\xff\xfe garbage \x00 without headers") is Verdict.unknown
    nested = b"Content-Type: multipart/mixed; boundary=a\r\n\r\n" + b"--a\r\n\r\nx\r\n" * 300
    assert handle(runtime, nested) is Verdict.refused  # too many MIME parts
    assert results(runtime) == [("sent", None, False, 0)] * len(ALL)


def test_a_delay_warning_is_a_notice(runtime: Runtime, sent: list[SentMail]) -> None:
    delayed = (
        Sample("postfix_user_unknown", "notice")
        .render(
            bounce_to=sent[1].envelope_sender,
            recipient=sent[1].recipient,
            message_id=sent[1].message_id,
        )
        .replace(b"Action: failed", b"Action: delayed")
    )
    assert handle(runtime, delayed) is Verdict.notice
    assert results(runtime)[1] == ("sent", None, False, 0)
