"""What the public links record: views, answer clicks, answers and opt-outs."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
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
LINKED_STATUSES = (DeliveryStatus.sent, DeliveryStatus.sending)
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
class SentMail:
    """The columns of a sent delivery the public pages use (read as plain rows: building ORM
    objects cost more than the query on a send morning)."""

    id: int
    enrollment_id: int
    campaign_id: int
    sent_at: datetime | None
    lesson_id: int | None
    lesson_hash: str | None
    review_items: list[dict[str, Any]]


@dataclass(frozen=True)
class CourseText:
    """What a page shows of the course (read with its delivery, so an edit shows at once)."""

    id: int
    title: str
    language: str
    help_text: str


@dataclass(frozen=True)
class Opened:
    """A genuine delivery with what it carried."""

    delivery: SentMail
    course: CourseText
    questions: list[Question]
    local_help: str = ""  # the campaign's own contacts, shown after the course's help
    opted_out: bool = False  # the person has left this campaign

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


class VersionCache:
    """Lesson versions read once: a version never changes, so an entry never goes stale.

    Bounded (a course has tens of lessons, each with a few versions); one per app."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._found: dict[tuple[int, str], VersionedLesson] = {}
        self._lock = threading.Lock()

    def get(
        self, session: Session, pairs: list[tuple[int, str]]
    ) -> dict[tuple[int, str], VersionedLesson]:
        with self._lock:
            found = {p: self._found[p] for p in pairs if p in self._found}
        missing = [p for p in pairs if p not in found]
        if missing:
            loaded = load_versions(session, missing)
            for item in loaded.values():
                session.expunge(item.version)  # detached, all columns loaded: safe to share
            with self._lock:
                if len(self._found) + len(loaded) > self.max_entries:
                    self._found.clear()
                self._found.update(loaded)
            found |= loaded
        return found


def open_delivery(
    session: Session, secret: bytes, token: str, cache: VersionCache | None = None
) -> Opened | None:
    """The delivery behind a link, or None for a tampered, unknown or unsent one (the token is
    checked by its HMAC alone, then `open_many` reads it)."""
    delivery_id = verify_delivery(secret, token)
    if delivery_id is None:
        return None
    return open_many(session, {delivery_id}, cache or VersionCache()).get(delivery_id)


# Built once: a statement built per group cost more CPU than the database's work for it.
_OPEN_MANY = (
    select(
        Delivery.id,
        Delivery.enrollment_id,
        Delivery.campaign_id,
        Delivery.sent_at,
        Delivery.lesson_id,
        Delivery.lesson_hash,
        Delivery.review_items,
        Delivery.status,
        Employee.erased_at,
        Course.id,
        Course.title,
        Course.language,
        Course.help_text,
        Campaign.local_help,
        Enrollment.status,
    )
    .join(Enrollment, Enrollment.id == Delivery.enrollment_id)
    .join(Employee, Employee.id == Enrollment.employee_id)
    .join(Campaign, Campaign.id == Delivery.campaign_id)
    .join(Course, Course.id == Campaign.course_id)
    .where(Delivery.id.in_(bindparam("ids", expanding=True)))
)


def open_many(
    session: Session, delivery_ids: set[int], versions: VersionCache
) -> dict[int, Opened]:
    """The genuine, sent deliveries among `delivery_ids` with what they carried. One query reads
    the deliveries, whether their people are erased, and the courses (mutable rows: read every
    time, so an erasure or a bounce counts at once); the lesson versions come from the cache
    (they never change)."""
    if not delivery_ids:
        return {}
    # plain rows: no ORM layer on the busiest query
    rows = session.connection().execute(_OPEN_MANY, {"ids": sorted(delivery_ids)}).all()
    # An erased person's old links record nothing more.
    live = [r for r in rows if r[7] in LINKED_STATUSES and r[8] is None]
    mails = {r[0]: SentMail(*r[:7]) for r in live}
    items = {i: delivery_items(mail) for i, mail in mails.items()}
    found = versions.get(session, sorted({(lid, h) for i in items.values() for lid, h, _ in i}))
    courses: dict[int, CourseText] = {}
    opened = {}
    for row in live:
        course = courses.setdefault(row[9], CourseText(*row[9:13]))
        questions = [
            Question(lid, found[(lid, h)], review)
            for lid, h, review in items[row[0]]
            if (lid, h) in found
        ]
        opted_out = row[14] == EnrollmentStatus.opted_out
        opened[row[0]] = Opened(mails[row[0]], course, questions, row[13], opted_out)
    return opened


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
        delivery = session.get(Delivery, opened.delivery.id)
        assert delivery is not None  # opened in this transaction
        record_review(session, delivery, answer, now)
        return AnswerOutcome(answer.correct, answer.attempt, version.correct_index)
    assert lost is not None
    raise lost


def _repeat_of(earlier: Sequence[Answer], option: int, answered_at: datetime) -> Answer | None:
    """The earliest answer with this choice in the last REPEAT_SECONDS, if any."""
    since = answered_at - timedelta(seconds=REPEAT_SECONDS)
    same = [a for a in earlier if a.option_index == option and a.answered_at >= since]
    return min(same, key=lambda a: a.attempt, default=None)


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
