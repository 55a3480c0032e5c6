"""What the public links record: views, answer clicks, answers and opt-outs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, Enrollment, EnrollmentStatus
from app.core.tokens import verify_delivery, verify_test
from app.employees.models import Employee
from app.learning.service import record_review
from app.lessons.content import VersionedLesson, load_versions
from app.lessons.models import Course
from app.outbox.models import Delivery, DeliveryStatus, delivery_items
from app.tracking.classify import LINK_BURST
from app.tracking.models import Answer, Event, EventClass, EventKind

# A link works once the relay has (or may have) accepted the e-mail.
_LINKED_STATUSES = (DeliveryStatus.sent, DeliveryStatus.sending)


@dataclass(frozen=True)
class Question:
    lesson_id: int
    item: VersionedLesson
    is_review: bool


@dataclass(frozen=True)
class Opened:
    """A genuine delivery with what it carried."""

    delivery: Delivery
    course: Course
    questions: list[Question]

    def question(self, lesson_key: str) -> Question | None:
        return next((q for q in self.questions if q.item.key == lesson_key), None)


@dataclass(frozen=True)
class AnswerOutcome:
    correct: bool
    attempt: int
    correct_index: int


def test_send_language(session: Session, secret: bytes, token: str) -> str | None:
    """For a genuine test-send link, the language of its course (its page says it was a
    test); None for any other token. Nothing is recorded for a test-send."""
    campaign_id = verify_test(secret, token)
    if campaign_id is None:
        return None
    language = session.scalar(
        select(Course.language)
        .join(Campaign, Campaign.course_id == Course.id)
        .where(Campaign.id == campaign_id)
    )
    return language or "sv"


def open_delivery(session: Session, secret: bytes, token: str) -> Opened | None:
    """The delivery behind a link, or None for a tampered, unknown or unsent one."""
    delivery_id = verify_delivery(secret, token)
    if delivery_id is None:
        return None
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.status not in _LINKED_STATUSES:
        return None
    erased = session.scalar(
        select(Employee.erased_at)
        .join(Enrollment, Enrollment.employee_id == Employee.id)
        .where(Enrollment.id == delivery.enrollment_id)
    )
    if erased is not None:  # an erased person's old links record nothing more
        return None
    course = session.scalar(
        select(Course)
        .join(Campaign, Campaign.course_id == Course.id)
        .where(Campaign.id == delivery.campaign_id)
    )
    if course is None:
        return None
    items = delivery_items(delivery)
    versions = load_versions(session, ((lid, h) for lid, h, _ in items))
    questions = [
        Question(lid, versions[(lid, h)], review)
        for lid, h, review in items
        if (lid, h) in versions
    ]
    return Opened(delivery, course, questions)


def record_event(
    session: Session,
    opened: Opened,
    kind: EventKind,
    lesson_id: int | None,
    now: datetime,
    verdict: tuple[EventClass, str],
) -> None:
    session.add(
        Event(
            kind=kind,
            delivery_id=opened.delivery.id,
            lesson_id=lesson_id,
            occurred_at=now,
            classification=verdict[0],
            class_reason=verdict[1],
        )
    )


def reclassify_burst(session: Session, delivery_id: int, since: datetime) -> int:
    """Mark the e-mail's human-looking views and clicks since `since` as part of a link burst.

    Events already automated keep the rule that caught them first.
    """
    result = session.execute(
        update(Event)
        .where(
            Event.delivery_id == delivery_id,
            Event.occurred_at >= since,
            Event.classification == EventClass.human,
            Event.kind.in_([EventKind.view, EventKind.answer_click]),
        )
        .values(classification=EventClass.automated, class_reason=LINK_BURST)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def record_answer(
    session: Session, opened: Opened, question: Question, option: int, now: datetime
) -> AnswerOutcome:
    """Keep the answer as an attempt; a double-submitted form (same second and choice) counts once."""
    version = question.item.version
    answered_at = now.replace(microsecond=0)
    correct = option == version.correct_index
    same = select(Answer).where(
        Answer.delivery_id == opened.delivery.id,
        Answer.lesson_id == question.lesson_id,
        Answer.option_index == option,
        Answer.answered_at == answered_at,
    )
    existing = session.scalar(same)
    if existing is not None:
        return AnswerOutcome(existing.correct, existing.attempt, version.correct_index)
    earlier = session.scalar(
        select(func.count()).where(
            Answer.delivery_id == opened.delivery.id, Answer.lesson_id == question.lesson_id
        )
    )
    answer = Answer(
        delivery_id=opened.delivery.id,
        enrollment_id=opened.delivery.enrollment_id,
        lesson_id=question.lesson_id,
        lesson_hash=version.content_hash,
        is_review=question.is_review,
        option_index=option,
        correct=correct,
        attempt=(earlier or 0) + 1,
        answered_at=answered_at,
    )
    try:
        with session.begin_nested():
            session.add(answer)
    except IntegrityError:
        # The same submission raced in from a second request: it counts once.
        existing = session.scalar(same)
        if existing is not None:
            return AnswerOutcome(existing.correct, existing.attempt, version.correct_index)
        raise
    record_review(session, opened.delivery, answer, now)
    return AnswerOutcome(correct, answer.attempt, version.correct_index)


def is_opted_out(session: Session, opened: Opened) -> bool:
    enrollment = session.get(Enrollment, opened.delivery.enrollment_id)
    return enrollment is not None and enrollment.status == EnrollmentStatus.opted_out


def opt_out(session: Session, opened: Opened, now: datetime) -> None:
    """Leave this campaign: no more e-mails from it; HR sees the opt-out in the report."""
    enrollment = session.get(Enrollment, opened.delivery.enrollment_id)
    if enrollment is None or enrollment.status == EnrollmentStatus.opted_out:
        return
    enrollment.status = EnrollmentStatus.opted_out
    enrollment.opted_out_at = now
    session.add(
        Event(
            kind=EventKind.optout,
            delivery_id=opened.delivery.id,
            lesson_id=None,
            occurred_at=now,
            classification=EventClass.human,
            class_reason="",
        )
    )
