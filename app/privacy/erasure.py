"""Erasure (GDPR art. 17): remove a person's identity and activity, keep anonymous counts.

What stays, so campaign counts and the completion report's totals do not change:
- the employee row as a tombstone: erased_at set, no name, address, number or department;
- enrollments (active ones become removed; an opt-out keeps its day, not its time);
- sent and failed e-mails, without Message-ID, SMTP reply, worker or exact send time;
- per e-mail and question, one human view or click and the first answer.
What goes: unsent e-mails, every other event (scanner clicks, repeats, the opt-out click),
later answer attempts, review cards and review logs (the person's memory model).
Once the erasure commits, the old bytes go from the database files as well (app/privacy/scrub.py).
Every time that stays is moved to the e-mail's send slot, which the whole audience shares:
exact times could be matched against web server or mail relay logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, delete, select, update
from sqlalchemy.orm import Session

from app.auth.audit import record_audit
from app.auth.models import ApiKey
from app.campaigns.models import Enrollment, EnrollmentStatus
from app.employees.models import Employee
from app.employees.people import audit_target, person_or_problem
from app.learning.models import ReviewCard, ReviewLog
from app.outbox.models import Delivery, DeliveryStatus
from app.privacy.scrub import scrub_after_commit
from app.tracking.models import Answer, Event, EventClass, EventKind

# Events the reports count (a human read the lesson); all others go.
_COUNTED_EVENTS = (EventKind.view, EventKind.answer_click)
_UNSENT = (DeliveryStatus.pending, DeliveryStatus.sending)
_NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True)
class ErasureReport:
    employee_id: int
    erased_at: datetime
    deleted: dict[str, int]  # rows removed, per table
    anonymised: dict[str, int]  # rows kept without identity, per table

    @property
    def rows(self) -> int:
        return sum(self.deleted.values()) + sum(self.anonymised.values())


def erase_employee(
    session: Session, employee_id: int, *, now: datetime, actor: ApiKey | str | None
) -> ErasureReport:
    """Erase one person (404 unknown, 410 already erased); audited, flushed, not committed."""
    employee = person_or_problem(session, employee_id)
    enrollments = select(Enrollment.id).where(Enrollment.employee_id == employee_id)
    deliveries = select(Delivery.id).where(Delivery.enrollment_id.in_(enrollments))
    cards = select(ReviewCard.id).where(ReviewCard.enrollment_id.in_(enrollments))
    # A relay's refusal often quotes the address: then the outbox held it too.
    quoted = session.scalar(
        select(Delivery.id)
        .where(Delivery.enrollment_id.in_(enrollments), Delivery.last_error.is_not(None))
        .limit(1)
    )
    deleted = {
        "deliveries": _delete(
            session, Delivery, Delivery.enrollment_id.in_(enrollments), Delivery.status.in_(_UNSENT)
        ),
        "review_logs": _delete(session, ReviewLog, ReviewLog.card_id.in_(cards)),
        "review_cards": _delete(session, ReviewCard, ReviewCard.enrollment_id.in_(enrollments)),
        "answers": _delete(
            session, Answer, Answer.enrollment_id.in_(enrollments), Answer.attempt > 1
        ),
        "events": _thin_events(session, deliveries),
    }
    anonymised = {
        "answers": _at_slot(session, Answer, Answer.answered_at, deliveries),
        "events": _at_slot(session, Event, Event.occurred_at, deliveries),
        "deliveries": _strip_deliveries(session, enrollments),
        "enrollments": _strip_enrollments(session, employee_id),
        "employees": 1,
    }
    _tombstone(employee, now)
    session.flush()
    scrub_after_commit(
        session,
        rewrite=[Employee.__tablename__, *([Delivery.__tablename__] if quoted else [])],
        vacuum=[*deleted, *anonymised],
    )
    report = ErasureReport(employee_id, now, deleted, anonymised)
    record_audit(
        session,
        actor=actor,
        action="employees.erase",
        now=now,
        target=audit_target(employee_id),
        rows=report.rows,
        detail={"deleted": deleted, "anonymised": anonymised},
    )
    return report


def _delete(session: Session, model: Any, *where: ColumnElement[bool]) -> int:
    result = session.execute(delete(model).where(*where), execution_options=_NO_SYNC)
    return int(getattr(result, "rowcount", 0) or 0)


def _thin_events(session: Session, deliveries: Select[Any]) -> int:
    """Keep the first human view or click per e-mail and question: all the reports count."""
    rows = session.execute(
        select(Event.id, Event.delivery_id, Event.lesson_id, Event.kind, Event.classification)
        .where(Event.delivery_id.in_(deliveries))
        .order_by(Event.id)
    ).all()
    kept: dict[tuple[int, int | None], int] = {}
    for row in rows:
        if row.classification == EventClass.human and row.kind in _COUNTED_EVENTS:
            kept.setdefault((row.delivery_id, row.lesson_id), row.id)
    keep = set(kept.values())
    drop = [row.id for row in rows if row.id not in keep]
    if drop:
        session.execute(delete(Event).where(Event.id.in_(drop)), execution_options=_NO_SYNC)
    return len(drop)


def _at_slot(session: Session, model: Any, column: Any, deliveries: Select[Any]) -> int:
    """Move a time to the send slot of its e-mail (a correlated UPDATE, one statement)."""
    slot = select(Delivery.slot_at).where(Delivery.id == model.delivery_id).scalar_subquery()
    result = session.execute(
        update(model).where(model.delivery_id.in_(deliveries)).values({column: slot}),
        execution_options=_NO_SYNC,
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _strip_deliveries(session: Session, enrollments: Select[Any]) -> int:
    # The Message-ID and the send time lead to the recipient in the relay's logs, and a
    # refusal often quotes the address itself.
    result = session.execute(
        update(Delivery)
        .where(Delivery.enrollment_id.in_(enrollments))
        .values(
            message_id=None,
            last_error=None,
            claimed_by=None,
            lease_until=None,
            sent_at=case((Delivery.sent_at.is_not(None), Delivery.slot_at)),
        ),
        execution_options=_NO_SYNC,
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _strip_enrollments(session: Session, employee_id: int) -> int:
    enrollments = session.scalars(select(Enrollment).where(Enrollment.employee_id == employee_id))
    count = 0
    for enrollment in enrollments:
        count += 1
        if enrollment.status == EnrollmentStatus.active:
            enrollment.status = EnrollmentStatus.removed
        if enrollment.opted_out_at is not None:
            day = enrollment.opted_out_at.replace(hour=0, minute=0, second=0, microsecond=0)
            enrollment.opted_out_at = day
    return count


def _tombstone(employee: Employee, now: datetime) -> None:
    employee.email = None
    employee.employee_number = None
    employee.first_name = ""
    employee.last_name = ""
    # A department of a few people would point at the person along with the counts.
    employee.department = ""
    employee.undeliverable_reason = None  # a bounce's text often quotes the address
    employee.active = False
    employee.deactivated_at = employee.deactivated_at or now
    employee.erased_at = now
    employee.updated_at = now
