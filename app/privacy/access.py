"""Right of access (GDPR art. 15): everything stored about one person, as plain data.

Every column of every row is exported as stored, so new columns show up here without
changes. Link tokens are not stored (they are computed from the e-mail's id and the secret
key), so none can leak; e-mail bodies are not stored either: the lessons are, by id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, inspect, select
from sqlalchemy.orm import Session

from app.auth.audit import record_audit
from app.auth.models import ApiKey, AuditEntry
from app.campaigns.models import Campaign, Enrollment, EnrollmentStatus
from app.employees.people import audit_target, person_or_problem
from app.learning.models import ReviewCard, ReviewLog
from app.lessons.models import Lesson
from app.outbox.models import Delivery
from app.tracking.models import Answer, Event

Row = dict[str, Any]


def export_employee(
    session: Session, employee_id: int, *, now: datetime, actor: ApiKey | str | None
) -> dict[str, Any]:
    """Everything about one person (404 unknown, 410 erased); the export itself is audited."""
    employee = person_or_problem(session, employee_id)
    enrollments = select(Enrollment.id).where(Enrollment.employee_id == employee_id)
    deliveries = select(Delivery.id).where(Delivery.enrollment_id.in_(enrollments))
    cards = select(ReviewCard.id).where(ReviewCard.enrollment_id.in_(enrollments))
    sections: dict[str, list[Row]] = {
        "enrollments": _rows(session, select(Enrollment).where(Enrollment.id.in_(enrollments))),
        "deliveries": _rows(session, select(Delivery).where(Delivery.id.in_(deliveries))),
        "events": _rows(session, select(Event).where(Event.delivery_id.in_(deliveries))),
        "answers": _rows(session, select(Answer).where(Answer.enrollment_id.in_(enrollments))),
        "review_cards": _rows(session, select(ReviewCard).where(ReviewCard.id.in_(cards))),
        "review_logs": _rows(session, select(ReviewLog).where(ReviewLog.card_id.in_(cards))),
        # Earlier changes and exports concerning the person: who handled their data, and when.
        "audit_log": _rows(
            session, select(AuditEntry).where(AuditEntry.target == audit_target(employee_id))
        ),
    }
    sections["opt_outs"] = [
        {"campaign_id": e["campaign_id"], "opted_out_at": e["opted_out_at"]}
        for e in sections["enrollments"]
        if e["status"] == EnrollmentStatus.opted_out
    ]
    campaign_ids = {e["campaign_id"] for e in sections["enrollments"]}
    export = {
        "generated_at": now,
        "employee": as_dict(employee),
        "campaigns": _campaigns(session, campaign_ids),
        "lessons": _lessons(session, sections),
        **sections,
    }
    record_audit(
        session,
        actor=actor,
        action="employees.export",
        now=now,
        target=audit_target(employee_id),
        rows=1 + sum(len(rows) for rows in sections.values()),
        detail={name: len(rows) for name, rows in sections.items()},
    )
    return export


def as_dict(obj: Any) -> Row:
    """Every mapped column of a row, by attribute name."""
    return {attr.key: getattr(obj, attr.key) for attr in inspect(obj).mapper.column_attrs}


def _rows(session: Session, stmt: Select[Any]) -> list[Row]:
    model = stmt.column_descriptions[0]["entity"]
    return [as_dict(obj) for obj in session.scalars(stmt.order_by(*_primary_key(model)))]


def _primary_key(model: Any) -> tuple[Any, ...]:
    return tuple(inspect(model).primary_key)


def _campaigns(session: Session, ids: set[int]) -> list[Row]:
    """Names, so the person can tell the campaigns apart; the rest is the employer's."""
    stmt = select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids)).order_by(Campaign.id)
    return [{"id": row.id, "name": row.name} for row in session.execute(stmt)]


def _lessons(session: Session, sections: dict[str, list[Row]]) -> list[Row]:
    """The lessons referred to by id, with their keys (e.g. rad-03) to look them up."""
    ids = {
        row["lesson_id"]
        for name in ("deliveries", "events", "answers", "review_cards")
        for row in sections[name]
        if row.get("lesson_id") is not None
    }
    ids |= {item["lesson_id"] for row in sections["deliveries"] for item in row["review_items"]}
    stmt = select(Lesson.id, Lesson.key).where(Lesson.id.in_(ids)).order_by(Lesson.id)
    return [{"id": row.id, "key": row.key} for row in session.execute(stmt)]
