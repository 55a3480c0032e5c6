"""Erasure: DELETE /employees/{id}?erase=true leaves no trace of the person in any table, and
campaign counts and the HR completion report keep their totals."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.auth.models import AuditEntry
from app.campaigns.models import Enrollment, EnrollmentStatus
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.delivery.jobs import plan_once
from app.employees.models import Employee
from app.learning.models import ReviewCard
from app.outbox.models import Delivery
from app.tracking.models import Answer, Event
from tests.flow import inbox, next_slot, run_slots, sync_lessons, tick
from tests.privacy.scenario import (
    ADDRESS,
    IDENTITY,
    STAFF_CSV,
    employee_id,
    import_staff,
    make_footprint,
    start_campaign,
)
from tests.privacy.tables import traces
from tests.smtp_server import SmtpSink

NUMERIC = ("lessons_sent", "lessons_viewed", "questions_answered", "correct_first_attempt")


def report_totals(client: TestClient, headers: dict[str, str], campaign_id: int) -> dict[str, Any]:
    response = client.get(
        "/api/v1/reports/completion",
        params={"campaign": campaign_id, "format": "json"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    totals: dict[str, Any] = {name: sum(r[name] for r in rows) for name in NUMERIC}
    totals |= {"rows": len(rows), "opted_out": sum(r["opted_out"] for r in rows)}
    return totals


def campaign_counts(client: TestClient, headers: dict[str, str], campaign_id: int) -> Any:
    response = client.get(f"/api/v1/campaigns/{campaign_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["counts"]


def erase(client: TestClient, headers: dict[str, str], person: int) -> Any:
    return client.delete(f"/api/v1/employees/{person}", params={"erase": "true"}, headers=headers)


def test_erasure_leaves_no_trace_in_any_table_and_keeps_the_totals(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    admin_headers: dict[str, str],
    engine: Engine,
) -> None:
    footprint = make_footprint(runtime, client, clock, smtp_sink, admin_headers)
    person, campaign_id = footprint.employee_id, footprint.campaign_id
    found = {(table, needle) for table, _column, needle in traces(engine, IDENTITY)}
    # The search works: the relay's refusal quoted the address in the outbox.
    assert ("employees", ADDRESS) in found and ("deliveries", ADDRESS) in found
    report_before = report_totals(client, admin_headers, campaign_id)
    counts_before = campaign_counts(client, admin_headers, campaign_id)
    assert report_before["questions_answered"] >= 2 and report_before["opted_out"] == 1

    response = erase(client, admin_headers, person)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["action"]) == (person, "erased")
    assert body["deleted"]["events"] >= 3  # the scanner's fetch, a repeat click, the opt-out
    assert body["deleted"]["answers"] == 1  # the second attempt; the first answers stay
    assert body["deleted"]["review_cards"] >= 2 and body["deleted"]["review_logs"] >= 2
    assert body["anonymised"]["deliveries"] == 3 and body["anonymised"]["employees"] == 1
    assert report_totals(client, admin_headers, campaign_id) == report_before
    assert campaign_counts(client, admin_headers, campaign_id) == counts_before

    # The next send skips her, and nothing anywhere still names her.
    received = len(inbox(smtp_sink, ADDRESS))
    run_slots(runtime, clock, campaign_id, 1)
    assert len(inbox(smtp_sink, ADDRESS)) == received
    assert traces(engine, IDENTITY) == []
    assert traces(engine, tuple(footprint.tokens)) == []


def test_erasure_keeps_one_row_per_count_moved_to_the_send_slot(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    admin_headers: dict[str, str],
    session: Session,
) -> None:
    footprint = make_footprint(runtime, client, clock, smtp_sink, admin_headers)
    assert erase(client, admin_headers, footprint.employee_id).status_code == 200

    employee = session.get(Employee, footprint.employee_id)
    assert employee is not None and employee.erased_at == clock.now()
    assert (employee.email, employee.employee_number, employee.full_name) == (None, None, "")
    assert (employee.department, employee.active) == ("", False)
    enrollment = session.scalar(
        select(Enrollment).where(Enrollment.employee_id == footprint.employee_id)
    )
    assert enrollment is not None and enrollment.status == EnrollmentStatus.opted_out
    assert enrollment.opted_out_at is not None and enrollment.opted_out_at.hour == 0
    deliveries = session.scalars(
        select(Delivery).where(Delivery.enrollment_id == enrollment.id)
    ).all()
    assert all(d.message_id is None and d.last_error is None for d in deliveries)
    assert all(d.sent_at in (None, d.slot_at) for d in deliveries)
    slots = {d.id: d.slot_at for d in deliveries}
    events = session.scalars(select(Event).where(Event.delivery_id.in_(slots))).all()
    answers = session.scalars(select(Answer).where(Answer.enrollment_id == enrollment.id)).all()
    assert events and all(e.classification == "human" for e in events)
    assert all(e.occurred_at == slots[e.delivery_id] for e in events)
    assert answers and all(a.answered_at == slots[a.delivery_id] for a in answers)
    assert all(a.attempt == 1 for a in answers)
    cards = select(func.count()).where(ReviewCard.enrollment_id == enrollment.id)
    assert session.scalar(cards) == 0


def test_erasure_drops_planned_e_mails_and_the_report_shows_a_nameless_row(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    admin_headers: dict[str, str],
    session: Session,
) -> None:
    sync_lessons(runtime)
    import_staff(client, admin_headers)
    person = employee_id(client, admin_headers, ADDRESS)
    campaign_id = start_campaign(client, admin_headers)
    slot = next_slot(runtime, campaign_id)
    assert slot is not None
    clock.set(slot)
    plan_once(runtime)  # planned, not sent yet

    body = erase(client, admin_headers, person).json()

    assert body["deleted"]["deliveries"] == 1
    assert tick(runtime).sent == 2
    assert inbox(smtp_sink, ADDRESS) == []
    report = client.get(
        "/api/v1/reports/completion",
        params={"campaign": campaign_id, "format": "json"},
        headers=admin_headers,
    ).json()
    erased = [r for r in report["rows"] if r["employee_id"] == person]
    assert [(r["name"], r["email"], r["employee_number"]) for r in erased] == [
        ("(raderad)", None, None)
    ]


def test_erasure_is_audited_without_identity_and_a_new_import_starts_afresh(
    client: TestClient, admin_headers: dict[str, str], session: Session
) -> None:
    import_staff(client, admin_headers)
    person = employee_id(client, admin_headers, ADDRESS)
    assert erase(client, admin_headers, person).status_code == 200

    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "employees.erase"))
    assert entry is not None and entry.target == f"employee {person}"
    assert entry.actor.startswith("key ") and entry.rows is not None and entry.rows >= 1
    assert set(entry.detail) == {"deleted", "anonymised"}
    # The same file again: she is a new person; the tombstone is never matched.
    result = import_staff(client, admin_headers, STAFF_CSV)
    assert (result["created"], result["unchanged"]) == (1, 2)
    assert employee_id(client, admin_headers, ADDRESS) != person
