"""What the public links record: views, answer clicks, answers and opt-outs."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, Enrollment, EnrollmentStatus
from app.core.bulk import insert_rows, json_rows, one_of
from app.core.tokens import verify_delivery, verify_test
from app.employees.models import Employee
from app.learning.service import Answered, record_reviews
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
OPEN_MANY = (
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
    .where(one_of(Delivery.id, "ids"))
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
    rows = session.connection().execute(OPEN_MANY, {"ids": sorted(delivery_ids)}).all()
    return opened_from_rows(session, rows, versions)


def opened_from_rows(
    session: Session, rows: Sequence[Sequence[Any]], versions: VersionCache
) -> dict[int, Opened]:
    """What `open_many` makes of OPEN_MANY's rows (which may carry more columns after its
    own: app/tracking/visits.py reads an e-mail's link hits in the same statement)."""
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


def reclassify_bursts(session: Session, began: dict[int, datetime]) -> None:
    """Mark each e-mail's human-looking views and clicks since the time `began` gives for it
    (by delivery id) as part of a link burst: one statement for any number of e-mails on
    PostgreSQL. Events already automated keep the rule that caught them first."""
    if not began:
        return
    ordered = sorted(began.items())
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        document = json_rows([{"delivery_id": d, "since": t} for d, t in ordered])
        ids = [delivery_id for delivery_id, _since in ordered]
        params = {"rows": document, "ids": ids, **_RECLASSIFY_VALUES}
        connection.execute(_RECLASSIFY_JSON, params)
    else:  # one by one: no round trips on SQLite, and an executemany of it ran 3× slower
        for delivery_id, since in ordered:
            connection.execute(_RECLASSIFY, {"burst_of": delivery_id, "since": since})


_EVENTS: Table = Event.__table__  # type: ignore[assignment]
_RECLASSIFY_VALUES = {
    "automated": EventClass.automated.value,
    "reason": LINK_BURST,
    "human": EventClass.human.value,
    "view": EventKind.view.value,
    "click": EventKind.answer_click.value,
}
_RECLASSIFY = (
    update(_EVENTS)
    .where(
        _EVENTS.c.delivery_id == bindparam("burst_of"),  # not a column's name: see update()
        _EVENTS.c.occurred_at >= bindparam("since"),
        _EVENTS.c.classification == EventClass.human.value,
        _EVENTS.c.kind.in_([EventKind.view.value, EventKind.answer_click.value]),
    )
    .values(classification=EventClass.automated.value, class_reason=LINK_BURST)
)
# The e-mails also as an array: it gives the planner the index on delivery_id (a join with the
# JSON rows alone was planned as a scan of every event, 3.6 ms a group in a storm).
_RECLASSIFY_JSON = text(
    """
    UPDATE events SET classification = :automated, class_reason = :reason
    FROM json_to_recordset(CAST(:rows AS json)) AS r(delivery_id INTEGER, since TIMESTAMPTZ)
    WHERE events.delivery_id = ANY(CAST(:ids AS INTEGER[]))
      AND events.delivery_id = r.delivery_id AND events.occurred_at >= r.since
      AND events.classification = :human AND events.kind IN (:view, :click)
    """
)


@dataclass(frozen=True)
class Ask:
    """A confirmed answer to store: the e-mail's question, the option chosen, when."""

    opened: Opened
    question: Question
    option: int
    now: datetime

    @property
    def pair(self) -> tuple[int, int]:
        return self.opened.delivery.id, self.question.lesson_id


@dataclass(frozen=True)
class StoredAnswer:
    """An answer as stored (the columns the repeat rule and the review use)."""

    id: int
    delivery_id: int
    lesson_id: int
    option_index: int
    correct: bool
    attempt: int
    answered_at: datetime


# Core statements: plain rows, no ORM objects to build and flush.
_ANSWERS: Table = Answer.__table__  # type: ignore[assignment]
_STORED = (
    _ANSWERS.c.id,
    _ANSWERS.c.delivery_id,
    _ANSWERS.c.lesson_id,
    _ANSWERS.c.option_index,
    _ANSWERS.c.correct,
    _ANSWERS.c.attempt,
    _ANSWERS.c.answered_at,
)
_ANSWERS_OF = select(*_STORED).where(one_of(_ANSWERS.c.delivery_id, "ids"))


def chosen_option(question: Question, option: str | None) -> int | None:
    """The option a confirm form names, when it is one of the question's (else None).

    Never raises: a hostile option must not fail the other confirms of its group."""
    if option is None or not option.isdigit():
        return None
    try:
        chosen = int(option)  # "²" is a digit to isdigit() but no number to int()
    except ValueError:
        return None
    return chosen if chosen < len(question.item.version.options) else None


def record_answer(
    session: Session, opened: Opened, question: Question, option: int, now: datetime
) -> AnswerOutcome:
    """One answer: see `record_answers`."""
    return record_answers(session, [Ask(opened, question, option, now)])[0]


def record_answers(session: Session, asks: Sequence[Ask]) -> list[AnswerOutcome]:
    """Keep each answer as a new attempt, unless it repeats a choice of the last few seconds;
    the outcomes in the order of `asks`.

    In order, as if one at a time: a later ask sees the answers of the earlier ones. A
    constant number of statements however many asks: one read of the earlier answers, one
    insert of the new ones, and their reviews (app/learning/service.py). The database keeps
    attempt numbers unique per e-mail and question, so of two groups that race in at once
    exactly one stores attempt 1; the other looks again (its insert undone) and finds the
    repeat.
    """
    if not asks:
        return []
    session.flush()  # the reads below go around the ORM
    lost: IntegrityError | None = None
    for _ in range(_RACE_RETRIES):
        earlier = _earlier_answers(session, sorted({a.pair for a in asks}))
        answers, new = _decide(asks, earlier)
        try:
            stored = _insert_answers(session, [(asks[n], answers[n]) for n in new])
        except IntegrityError as error:
            lost = error  # another group stored one of these attempts first: look again
            continue
        reviewed = zip(new, stored, strict=True)
        record_reviews(
            session, [Answered(asks[n].opened.delivery, a, asks[n].now) for n, a in reviewed]
        )
        return [
            AnswerOutcome(a.correct, a.attempt, ask.question.item.version.correct_index)
            for ask, a in zip(asks, answers, strict=True)
        ]
    assert lost is not None
    raise lost


def _earlier_answers(
    session: Session, pairs: list[tuple[int, int]]
) -> dict[tuple[int, int], list[StoredAnswer]]:
    """The stored answers of each (delivery, lesson) pair: read by e-mail (one statement text
    for any number of pairs), the e-mails' other questions left out."""
    wanted = set(pairs)
    ids = sorted({delivery for delivery, _lesson in pairs})
    found: dict[tuple[int, int], list[StoredAnswer]] = {}
    for row in session.connection().execute(_ANSWERS_OF, {"ids": ids}):
        if (row.delivery_id, row.lesson_id) in wanted:
            found.setdefault((row.delivery_id, row.lesson_id), []).append(StoredAnswer(*row))
    return found


def _decide(
    asks: Sequence[Ask], earlier: dict[tuple[int, int], list[StoredAnswer]]
) -> tuple[list[StoredAnswer], list[int]]:
    """The answer each ask stands for, and which asks (by index) store a new one (id 0 until
    stored). A repeat stands for the answer it repeats, a new answer is the next attempt."""
    seen = {pair: list(found) for pair, found in earlier.items()}
    answers: list[StoredAnswer] = []
    new: list[int] = []
    for n, ask in enumerate(asks):
        answered_at = ask.now.replace(microsecond=0)
        known = seen.setdefault(ask.pair, [])
        answer = _repeat_of(known, ask.option, answered_at)
        if answer is None:
            answer = StoredAnswer(
                id=0,
                delivery_id=ask.pair[0],
                lesson_id=ask.pair[1],
                option_index=ask.option,
                correct=ask.option == ask.question.item.version.correct_index,
                attempt=max((a.attempt for a in known), default=0) + 1,
                answered_at=answered_at,
            )
            known.append(answer)
            new.append(n)
        answers.append(answer)
    return answers, new


def _insert_answers(session: Session, new: list[tuple[Ask, StoredAnswer]]) -> list[StoredAnswer]:
    """Store the new answers (one insert, in a savepoint: a lost race undoes only it); the
    same answers with their ids."""
    if not new:
        return []
    rows = [
        {
            "delivery_id": a.delivery_id,
            "enrollment_id": ask.opened.delivery.enrollment_id,
            "lesson_id": a.lesson_id,
            "lesson_hash": ask.question.item.version.content_hash,
            "is_review": ask.question.is_review,
            "option_index": a.option_index,
            "correct": a.correct,
            "attempt": a.attempt,
            "answered_at": a.answered_at,
        }
        for ask, a in new
    ]
    # The ids by each row's unique (delivery, lesson, attempt): RETURNING keeps no order.
    with session.begin_nested():
        returned = insert_rows(
            session.connection(),
            _ANSWERS,
            rows,
            returning=("id", "delivery_id", "lesson_id", "attempt"),
        )
    ids = {(d, lesson, attempt): i for i, d, lesson, attempt in returned}
    return [replace(a, id=ids[(a.delivery_id, a.lesson_id, a.attempt)]) for _ask, a in new]


def _repeat_of(
    earlier: Sequence[StoredAnswer], option: int, answered_at: datetime
) -> StoredAnswer | None:
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
