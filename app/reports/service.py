"""The HR completion report: one row per employee enrolled in a campaign.

Definitions (quoted in the README):

- **Lessons sent** (Lektioner skickade): the enrollment's deliveries that carry a lesson
  (`lesson_id` set) and have status `sent`, i.e. were accepted by the mail relay.
- **Lessons viewed** (Lektioner lästa): distinct lessons of those deliveries with any HUMAN
  interaction: a `view` or `answer_click` event on the delivery classified `human`, or an
  answer (answering implies reading). The e-mail itself carries the lesson and opens are not
  tracked, so this is a lower bound. Events classified `automated` (mail scanners, link
  previews) never count.
- **Questions answered** (Frågor besvarade): distinct lessons whose own question
  (`is_review` false) has at least one answer by this enrollment. Review answers never count.
- **Correct at first attempt** (Rätt första försöket): distinct lessons whose first
  non-review answer (attempt 1, the earliest: see `first_answers`) was correct.
- **Opted out** (Avanmäld): the enrollment's status is `opted_out`; the date is `opted_out_at`.
- **Bounced** (Studsade): the enrollment's e-mails that the relay accepted and that came back
  as bounces (status `bounced`); they are not in "lessons sent". **Bounce reason**
  (Studsorsak): why the address was marked undeliverable, else the reason of a bounce.
- **Completion %** (Genomfört): questions answered about lessons still in the course / number
  of lessons in the course (lessons with a position), rounded half up to a whole number;
  0 when the course has no lessons. Answers to lessons since removed from the course show in
  "questions answered" but not here, so the percentage never exceeds 100.

Every enrollment of the campaign is a row, whatever its status. Erased employees appear as
"(raderad)" without e-mail or employee number; their counts stay.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, case, distinct, exists, func, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, Enrollment, EnrollmentStatus
from app.campaigns.service import get_campaign
from app.employees.models import Employee
from app.lessons.models import Course, Lesson
from app.outbox.models import Delivery, DeliveryStatus
from app.reports.schemas import ReportCampaign
from app.tracking.models import Answer, Event, EventClass, EventKind

ERASED_NAME = "(raderad)"
# Rows fetched per round trip: keeps memory flat however large the campaign.
YIELD_PER = 500


@dataclass(frozen=True)
class CompletionRow:
    employee_id: int
    name: str
    email: str | None
    department: str
    employee_number: str | None
    lessons_sent: int
    lessons_viewed: int
    questions_answered: int
    correct_first_attempt: int
    opted_out: bool
    opted_out_at: datetime | None
    completion_pct: int
    answered_in_course: int = 0  # questions answered about lessons still in the course
    first_name: str = ""
    last_name: str = ""  # ERASED_NAME for an erased person
    bounced: int = 0
    bounce_reason: str = ""


def lessons_in_course(session: Session, course_id: int) -> int:
    stmt = select(func.count(Lesson.id)).where(
        Lesson.course_id == course_id, Lesson.position.is_not(None)
    )
    return session.scalar(stmt) or 0


def completion_pct(answered_in_course: int, lesson_count: int) -> int:
    if lesson_count <= 0:
        return 0
    # Integer half-up rounding: round() would turn 2.5 into 2.
    return (200 * answered_in_course + lesson_count) // (2 * lesson_count)


def completion_rows(session: Session, campaign_id: int) -> Iterator[CompletionRow]:
    """Rows ordered by last name then first name; raises ProblemError(404) before streaming."""
    campaign = get_campaign(session, campaign_id, parameter="campaign")
    lesson_count = lessons_in_course(session, campaign.course_id)
    stmt = _completion_query(campaign_id, is_postgres(session))
    stmt = stmt.execution_options(yield_per=YIELD_PER)
    return (_to_row(r, lesson_count) for r in session.execute(stmt))


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def sent_deliveries(campaign_id: int, postgres: bool = False) -> Any:
    # SQLite without statistics would walk the (status, due_at) index over nearly every row,
    # three times slower than a scan; an expression keeps it off. PostgreSQL estimates the bare
    # column well, and an expression would spoil that.
    status = Delivery.status if postgres else func.coalesce(Delivery.status, "")
    return and_(
        Delivery.campaign_id == campaign_id,
        Delivery.lesson_id.is_not(None),
        status == DeliveryStatus.sent,
    )


def in_campaign(column: Any, campaign_id: int) -> Any:
    """`column` (an enrollment id) belongs to the campaign: lets the enrollment index lead."""
    return column.in_(select(Enrollment.id).where(Enrollment.campaign_id == campaign_id))


def _human_event() -> Any:
    return and_(
        Event.classification == EventClass.human,
        Event.kind.in_([EventKind.view, EventKind.answer_click]),
    )


def read_deliveries(campaign_id: int, postgres: bool = False) -> Any:
    """The campaign's sent lesson e-mails, with `read` 1 when the person did something with
    them: a human view or answer-link click, or an answer in that e-mail.

    An answer to the lesson's own question is always given through the e-mail that carried
    the lesson (the only delivery with that lesson for that person), so "an answer in this
    e-mail" covers it. The query differs per database for speed, not for its result: SQLite
    joins only by index lookups, so a CASE of EXISTS probes (stopping at the first that
    holds) is cheapest there; PostgreSQL hash-joins the sets of e-mails with events and with
    answers, where per-row probes would cost it several seconds on 2 million e-mails.
    """
    if postgres:
        mails = select(Delivery.id).where(Delivery.campaign_id == campaign_id)
        clicked = (
            select(Event.delivery_id)
            .where(_human_event(), Event.delivery_id.in_(mails))
            .distinct()
            .subquery("clicked")
        )
        answered = (
            select(Answer.delivery_id)
            .where(Answer.delivery_id.in_(mails))
            .distinct()
            .subquery("answered")
        )
        read = case(
            (clicked.c.delivery_id.is_not(None), 1),
            (answered.c.delivery_id.is_not(None), 1),
            else_=0,
        )
        stmt = (
            select(Delivery.enrollment_id, Delivery.lesson_id, read.label("read"))
            .outerjoin(clicked, clicked.c.delivery_id == Delivery.id)
            .outerjoin(answered, answered.c.delivery_id == Delivery.id)
            .where(sent_deliveries(campaign_id, postgres))
        )
    else:
        clicked_probe = exists().where(Event.delivery_id == Delivery.id, _human_event())
        answered_probe = exists().where(Answer.delivery_id == Delivery.id)
        read = case((clicked_probe, 1), (answered_probe, 1), else_=0)
        stmt = select(Delivery.enrollment_id, Delivery.lesson_id, read.label("read")).where(
            in_campaign(Delivery.enrollment_id, campaign_id), sent_deliveries(campaign_id)
        )
    return stmt.subquery("read_deliveries")


def _sent_and_viewed(campaign_id: int, postgres: bool) -> Any:
    """Per enrollment: lessons sent, and those of them with a human interaction.

    A person has at most one delivery per lesson (a unique constraint), so counting
    deliveries counts distinct lessons.
    """
    mails = read_deliveries(campaign_id, postgres)
    return (
        select(
            mails.c.enrollment_id,
            func.count().label("sent"),
            func.sum(mails.c.read).label("viewed"),
        )
        .group_by(mails.c.enrollment_id)
        .subquery("sent_viewed")
    )


def own_questions(campaign_id: int) -> Any:
    """Answers to lessons' own questions (not reviews) in the campaign."""
    return and_(in_campaign(Answer.enrollment_id, campaign_id), Answer.is_review.is_(False))


def first_answers(campaign_id: int) -> Any:
    """Per enrollment: questions answered, those still in the course, correct at first try.

    The first answer to a question is attempt 1: the tracking service numbers a person's
    answers to a question per e-mail in the order they arrive, and a lesson's own question is
    only ever answered through the one e-mail that carried the lesson.
    """
    first = Answer.attempt == 1
    return (
        select(
            Answer.enrollment_id,
            func.count(distinct(Answer.lesson_id)).label("answered"),
            func.count(distinct(case((Lesson.position.is_not(None), Answer.lesson_id)))).label(
                "in_course"
            ),
            func.sum(case((first & Answer.correct.is_(True), 1), else_=0)).label("correct_first"),
        )
        .join(Lesson, Lesson.id == Answer.lesson_id)
        .where(own_questions(campaign_id))
        .group_by(Answer.enrollment_id)
        .subquery("first_answers")
    )


def per_enrollment(campaign_id: int, postgres: bool = False) -> Select[Any]:
    """One row per enrollment with its counts, unordered: the base of every completion figure."""
    sent = _sent_and_viewed(campaign_id, postgres)
    answers = first_answers(campaign_id)
    bounces = (
        select(
            Delivery.enrollment_id,
            func.count().label("bounced"),
            func.max(Delivery.last_error).label("reason"),
        )
        .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.bounced)
        .group_by(Delivery.enrollment_id)
        .subquery("bounces")
    )
    return (
        select(
            Employee.id,
            Employee.first_name,
            Employee.last_name,
            Employee.email,
            Employee.department,
            Employee.employee_number,
            Employee.erased_at,
            Enrollment.status,
            Enrollment.opted_out_at,
            func.coalesce(sent.c.sent, 0).label("sent"),
            func.coalesce(sent.c.viewed, 0).label("viewed"),
            func.coalesce(answers.c.answered, 0).label("answered"),
            func.coalesce(answers.c.in_course, 0).label("in_course"),
            func.coalesce(answers.c.correct_first, 0).label("correct_first"),
            func.coalesce(bounces.c.bounced, 0).label("bounced"),
            func.coalesce(Employee.undeliverable_reason, bounces.c.reason).label("bounce_reason"),
        )
        .join(Employee, Employee.id == Enrollment.employee_id)
        .outerjoin(sent, sent.c.enrollment_id == Enrollment.id)
        .outerjoin(answers, answers.c.enrollment_id == Enrollment.id)
        .outerjoin(bounces, bounces.c.enrollment_id == Enrollment.id)
        .where(Enrollment.campaign_id == campaign_id)
    )


def _completion_query(campaign_id: int, postgres: bool = False) -> Select[Any]:
    return per_enrollment(campaign_id, postgres).order_by(
        # Erased people have no name to sort by: put them last.
        case((Employee.erased_at.is_(None), 0), else_=1),
        Employee.last_name,
        Employee.first_name,
        Employee.id,
    )


def _to_row(r: Row[Any], lesson_count: int) -> CompletionRow:
    erased = r.erased_at is not None
    opted_out = r.status == EnrollmentStatus.opted_out
    return CompletionRow(
        employee_id=r.id,
        name=ERASED_NAME if erased else f"{r.first_name} {r.last_name}".strip(),
        email=None if erased else r.email,
        department=r.department,
        employee_number=None if erased else r.employee_number,
        lessons_sent=int(r.sent),
        lessons_viewed=int(r.viewed),
        questions_answered=int(r.answered),
        correct_first_attempt=int(r.correct_first),
        opted_out=opted_out,
        opted_out_at=r.opted_out_at if opted_out else None,
        completion_pct=completion_pct(int(r.in_course), lesson_count),
        answered_in_course=int(r.in_course),
        first_name="" if erased else r.first_name,
        last_name=ERASED_NAME if erased else r.last_name,
        bounced=int(r.bounced),
        bounce_reason="" if erased else (r.bounce_reason or ""),
    )


def report_campaign(session: Session, campaign: Campaign, now: datetime) -> ReportCampaign:
    """The campaign header of a report: what was measured, against how many lessons, when."""
    course = session.get(Course, campaign.course_id)
    return ReportCampaign(
        id=campaign.id,
        name=campaign.name,
        status=str(campaign.status),
        course_id=campaign.course_id,
        course_title=course.title if course is not None else "",
        lessons_in_course=lessons_in_course(session, campaign.course_id),
        start_date=campaign.start_date,
        end_date=campaign.end_date,
        generated_at=now,
    )
