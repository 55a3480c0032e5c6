"""What the public links record: views, answer clicks, answers and opt-outs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
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
# The same choice confirmed again within this many seconds is the same answer, not a new
# attempt: a double-click, a re-sent form, or two requests racing in at once.
REPEAT_SECONDS = 5
# How often a confirm looks again after losing a race for an attempt number.
_RACE_RETRIES = 5


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
    local_help: str = ""  # the campaign's own contacts, shown after the course's help

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
    row = session.execute(
        select(Course, Campaign.local_help)
        .join(Campaign, Campaign.course_id == Course.id)
        .where(Campaign.id == delivery.campaign_id)
    ).first()
    if row is None:
        return None
    course, local_help = row
    items = delivery_items(delivery)
    versions = load_versions(session, ((lid, h) for lid, h, _ in items))
    questions = [
        Question(lid, versions[(lid, h)], review)
        for lid, h, review in items
        if (lid, h) in versions
    ]
    return Opened(delivery, course, questions, local_help)


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
    """Keep the answer as a new attempt, unless it repeats a choice of the last few seconds.

    The database keeps attempt numbers unique per e-mail and question, so of two requests that
    race in at once exactly one stores attempt 1; the other looks again and is the repeat.
    """
    version = question.item.version
    answered_at = now.replace(microsecond=0)
    lost: IntegrityError | None = None
    for _ in range(_RACE_RETRIES):
        earlier = session.scalars(
            select(Answer)
            .where(Answer.delivery_id == opened.delivery.id, Answer.lesson_id == question.lesson_id)
            .order_by(Answer.attempt.desc())
        ).all()
        repeated = _repeat_of(earlier, option, answered_at)
        if repeated is not None:
            return AnswerOutcome(repeated.correct, repeated.attempt, version.correct_index)
        answer = Answer(
            delivery_id=opened.delivery.id,
            enrollment_id=opened.delivery.enrollment_id,
            lesson_id=question.lesson_id,
            lesson_hash=version.content_hash,
            is_review=question.is_review,
            option_index=option,
            correct=option == version.correct_index,
            attempt=earlier[0].attempt + 1 if earlier else 1,
            answered_at=answered_at,
        )
        try:
            with session.begin_nested():
                session.add(answer)
        except IntegrityError as error:
            lost = error  # another request stored this attempt first: look again
            continue
        record_review(session, opened.delivery, answer, now)
        return AnswerOutcome(answer.correct, answer.attempt, version.correct_index)
    assert lost is not None
    raise lost


def _repeat_of(earlier: Sequence[Answer], option: int, answered_at: datetime) -> Answer | None:
    """The earliest answer with this choice in the last REPEAT_SECONDS, if any."""
    since = answered_at - timedelta(seconds=REPEAT_SECONDS)
    same = [a for a in earlier if a.option_index == option and a.answered_at >= since]
    return min(same, key=lambda a: a.attempt, default=None)


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
