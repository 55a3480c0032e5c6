"""The rows behind statements, each kind in (timestamp, id) order, read from a cursor on.

Erased people are left out: their pseudonym must not keep receiving data. Only human events
count, as everywhere in the reports. "Completed" is derived, not stored: an enrollment
completed its course when the question of every lesson in the course has been answered; the
moment is the latest of those first answers (Genomfört = 100 % in the HR report).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, distinct, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from app.campaigns.models import Campaign, Enrollment
from app.employees.models import Employee
from app.learning.models import RetiredReason, ReviewCard
from app.lessons.models import Lesson
from app.outbox.models import Delivery
from app.reports.service import in_campaign
from app.tracking.models import Answer, Event, EventClass, EventKind
from app.xapi.vocab import Kind

YIELD_PER = 1000


@dataclass(frozen=True)
class Cursor:
    """The last statement handled, in the order (timestamp, kind, source id)."""

    at: datetime
    kind: Kind
    source_id: int

    def to_json(self) -> list[Any]:
        return [self.at.isoformat(), int(self.kind), self.source_id]

    @classmethod
    def from_json(cls, value: list[Any]) -> Cursor:
        return cls(datetime.fromisoformat(value[0]), Kind(value[1]), int(value[2]))


@dataclass(frozen=True)
class Fact:
    kind: Kind
    at: datetime
    source_id: int
    employee_id: int
    campaign_id: int
    lesson_id: int | None = None
    lesson_hash: str | None = None
    option_index: int | None = None
    correct: bool | None = None
    is_review: bool = False
    attempt: int = 1
    right_first: int = 0  # completed: lessons whose first answer was right

    @property
    def order(self) -> tuple[datetime, int, int]:
        return (self.at, int(self.kind), self.source_id)

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, self.kind, self.source_id)


@dataclass(frozen=True)
class Window:
    campaign_id: int | None = None
    after: Cursor | None = None
    before: datetime | None = None  # exclusive; rows still being written are left for later


def _in_window(at: Any, source_id: Any, kind: Kind, window: Window) -> ColumnElement[bool]:
    conditions = []
    c = window.after
    if c is not None:
        if kind > c.kind:
            conditions.append(at >= c.at)
        elif kind < c.kind:
            conditions.append(at > c.at)
        else:
            conditions.append(or_(at > c.at, and_(at == c.at, source_id > c.source_id)))
    if window.before is not None:
        conditions.append(at < window.before)
    return and_(true(), *conditions)


def _person(stmt: Any, window: Window) -> Any:
    stmt = stmt.join(Employee, Employee.id == Enrollment.employee_id).where(
        Employee.erased_at.is_(None)
    )
    if window.campaign_id is not None:
        stmt = stmt.where(Enrollment.campaign_id == window.campaign_id)
    return stmt


def _views(window: Window) -> Select[Any]:
    stmt = (
        select(
            Event.occurred_at,
            Event.id,
            Enrollment.employee_id,
            Enrollment.campaign_id,
            Event.lesson_id,
        )
        .join(Delivery, Delivery.id == Event.delivery_id)
        .join(Enrollment, Enrollment.id == Delivery.enrollment_id)
        .where(
            Event.kind == EventKind.view,
            Event.classification == EventClass.human,
            Event.lesson_id.is_not(None),
            _in_window(Event.occurred_at, Event.id, Kind.experienced, window),
        )
    )
    return _person(stmt, window).order_by(Event.occurred_at, Event.id)


def _answers(window: Window) -> Select[Any]:
    stmt = (
        select(
            Answer.answered_at,
            Answer.id,
            Enrollment.employee_id,
            Enrollment.campaign_id,
            Answer.lesson_id,
            Answer.lesson_hash,
            Answer.option_index,
            Answer.correct,
            Answer.is_review,
            Answer.attempt,
        )
        .join(Enrollment, Enrollment.id == Answer.enrollment_id)
        .where(_in_window(Answer.answered_at, Answer.id, Kind.answered, window))
    )
    return _person(stmt, window).order_by(Answer.answered_at, Answer.id)


def _mastered(window: Window) -> Select[Any]:
    stmt = (
        select(
            ReviewCard.retired_at,
            ReviewCard.id,
            Enrollment.employee_id,
            Enrollment.campaign_id,
            ReviewCard.lesson_id,
        )
        .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
        .where(
            ReviewCard.retired_reason == RetiredReason.mastered,
            ReviewCard.retired_at.is_not(None),
            _in_window(ReviewCard.retired_at, ReviewCard.id, Kind.mastered, window),
        )
    )
    return _person(stmt, window).order_by(ReviewCard.retired_at, ReviewCard.id)


def _first_answers(window: Window) -> Any:
    """Per enrollment: lessons of the course answered, when the last of them was, right ones.

    A first answer is attempt 1 (see app.reports.service.first_answers).
    """
    stmt = (
        select(
            Answer.enrollment_id,
            func.count(distinct(Answer.lesson_id)).label("answered"),
            func.max(Answer.answered_at).label("at"),
            func.sum(Answer.correct.cast(Integer)).label("right_first"),
        )
        .join(Lesson, Lesson.id == Answer.lesson_id)
        .where(Answer.is_review.is_(False), Answer.attempt == 1, Lesson.position.is_not(None))
        .group_by(Answer.enrollment_id)
    )
    if window.campaign_id is not None:
        stmt = stmt.where(in_campaign(Answer.enrollment_id, window.campaign_id))
    if window.after is not None:
        # Only people who answered since the cursor can have completed since then.
        recent = aliased(Answer)
        stmt = stmt.where(
            Answer.enrollment_id.in_(
                select(recent.enrollment_id).where(recent.answered_at >= window.after.at)
            )
        )
    return stmt.subquery("firsts")


def _completions(window: Window) -> Select[Any]:
    firsts = _first_answers(window)
    sizes = (
        select(Lesson.course_id, func.count().label("lessons"))
        .where(Lesson.position.is_not(None))
        .group_by(Lesson.course_id)
        .subquery("sizes")
    )
    stmt = (
        select(
            firsts.c.at,
            firsts.c.enrollment_id,
            Enrollment.employee_id,
            Enrollment.campaign_id,
            firsts.c.right_first,
        )
        .join(Enrollment, Enrollment.id == firsts.c.enrollment_id)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .join(sizes, sizes.c.course_id == Campaign.course_id)
        .where(
            firsts.c.answered >= sizes.c.lessons,
            _in_window(firsts.c.at, firsts.c.enrollment_id, Kind.completed, window),
        )
    )
    return _person(stmt, window).order_by(firsts.c.at, firsts.c.enrollment_id)


def _stream(session: Session, stmt: Select[Any]) -> Iterator[Any]:
    return iter(session.execute(stmt.execution_options(yield_per=YIELD_PER)))


def views(session: Session, window: Window) -> Iterator[Fact]:
    for at, id_, employee, campaign, lesson in _stream(session, _views(window)):
        yield Fact(Kind.experienced, at, id_, employee, campaign, lesson)


def answers(session: Session, window: Window) -> Iterator[Fact]:
    for (
        at,
        id_,
        employee,
        campaign,
        lesson,
        lesson_hash,
        option,
        correct,
        review,
        attempt,
    ) in _stream(session, _answers(window)):
        yield Fact(
            Kind.answered,
            at,
            id_,
            employee,
            campaign,
            lesson,
            lesson_hash,
            option,
            correct,
            review,
            attempt,
        )


def mastered(session: Session, window: Window) -> Iterator[Fact]:
    for at, id_, employee, campaign, lesson in _stream(session, _mastered(window)):
        yield Fact(Kind.mastered, at, id_, employee, campaign, lesson)


def completions(session: Session, window: Window) -> Iterator[Fact]:
    for at, enrollment, employee, campaign, right in _stream(session, _completions(window)):
        yield Fact(Kind.completed, at, enrollment, employee, campaign, right_first=int(right or 0))
