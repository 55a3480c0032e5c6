"""A campaign's forecast: its coming slots, read from the database, run through the pure model
(`forecast.py`) with the configured sending accounts and what they sent in the last 24 hours.

Who gets what: each active person's next lesson follows from the lessons already in their
outbox (as the planner decides); a campaign not started yet counts its audience. Review-only
e-mails are estimated from the review questions already scheduled (future answers move them).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, Enrollment, EnrollmentStatus
from app.campaigns.service import schedule_of
from app.core.config import Settings
from app.delivery.forecast import AccountLimits, SlotLoad, forecast
from app.delivery.models import SendCount
from app.delivery.ratelimit import DAY_SECONDS
from app.employees.models import Employee
from app.learning.models import ReviewCard
from app.lessons.models import Lesson, LessonVersion
from app.outbox.models import Delivery

MAX_SLOTS = 400  # demo schedules with a slot every few minutes stop here
DEFAULT_WEEKS = 4


class ForecastLesson(BaseModel):
    position: int = Field(description="1 = the course's first lesson.")
    key: str
    title: str


class ForecastSlot(BaseModel):
    at: datetime = Field(description="The slot (UTC).")
    lesson: ForecastLesson | None = Field(description="The lesson most people get in it.")
    emails: int
    lesson_emails: int
    review_emails: int = Field(description="Review-only e-mails, estimated.")
    first_at: datetime | None = Field(description="When the first e-mail is expected to leave.")
    last_at: datetime | None = Field(description="When the last e-mail is expected to leave.")
    warnings: list[str]


class ForecastAccount(BaseModel):
    name: str
    transport: str
    per_minute: int | None
    per_hour: int | None
    per_day: int | None


class ForecastOut(BaseModel):
    campaign_id: int
    weeks: int
    accounts: list[ForecastAccount]
    slots: list[ForecastSlot]
    warnings: list[str] = Field(description="Every slot's warnings, each once.")


def _upcoming(campaign: Campaign, now: datetime, weeks: int) -> list[datetime]:
    schedule = schedule_of(campaign)
    until = now + timedelta(weeks=weeks)
    slots: list[datetime] = []
    slot = schedule.next_slot(now)
    while slot is not None and slot < until and len(slots) < MAX_SLOTS:
        slots.append(slot)
        slot = schedule.next_slot(slot)
    return slots


def _lessons_had(session: Session, campaign: Campaign) -> Counter[int]:
    """How many people have had how many lessons; the audience not enrolled yet (everyone, if
    the campaign has not started) is enrolled at the next slot, with none."""
    enrolled = select(Enrollment.id).where(
        Enrollment.campaign_id == campaign.id, Enrollment.employee_id == Employee.id
    )
    newcomers = select(func.count(Employee.id)).where(
        Employee.active.is_(True), Employee.erased_at.is_(None), ~enrolled.exists()
    )
    if campaign.departments:
        newcomers = newcomers.where(Employee.department.in_(campaign.departments))
    counts = Counter({0: int(session.scalar(newcomers) or 0)})
    had = _had_subquery()
    rows = session.execute(
        select(had, func.count(Enrollment.id))
        .select_from(Enrollment)
        .join(Employee, Employee.id == Enrollment.employee_id)
        .where(
            Enrollment.campaign_id == campaign.id,
            Enrollment.status == EnrollmentStatus.active,
            Employee.active.is_(True),
        )
        .group_by(had)
    ).all()
    for n, people in rows:
        counts[int(n)] += int(people)
    return +counts  # without zero counts


def _had_subquery() -> Any:
    """Per enrollment (correlated): how many lesson e-mails the person already has."""
    return (
        select(func.count(Delivery.lesson_id))
        .where(Delivery.enrollment_id == Enrollment.id)
        .scalar_subquery()
    )


def _review_due(session: Session, campaign: Campaign) -> list[tuple[int, datetime]]:
    """(lessons had, first due review) for each active person with review questions."""
    had = _had_subquery()
    rows = session.execute(
        select(had, func.min(ReviewCard.due))
        .select_from(Enrollment)
        .join(ReviewCard, ReviewCard.enrollment_id == Enrollment.id)
        .where(
            Enrollment.campaign_id == campaign.id,
            Enrollment.status == EnrollmentStatus.active,
            ReviewCard.retired_at.is_(None),
        )
        .group_by(Enrollment.id)
    ).all()
    return [(int(n), due) for n, due in rows]


def _loads(session: Session, campaign: Campaign, slots: list[datetime]) -> list[SlotLoad]:
    lessons = session.execute(
        select(Lesson.key, LessonVersion.title)
        .join(
            LessonVersion,
            (LessonVersion.lesson_id == Lesson.id)
            & (LessonVersion.content_hash == Lesson.content_hash),
        )
        .where(Lesson.course_id == campaign.course_id, Lesson.position.is_not(None))
        .order_by(Lesson.position)
    ).all()
    count = len(lessons)
    had = _lessons_had(session, campaign)
    reviews = _review_due(session, campaign) if campaign.max_reviews_per_email > 0 else []
    loads = []
    for k, slot in enumerate(slots):
        getting = Counter({n + k: people for n, people in had.items() if n + k < count})
        review_only = sum(1 for n, due in reviews if n + k >= count and due <= slot)
        position, key, title = None, None, None
        if getting:
            index = getting.most_common(1)[0][0]
            position, (key, title) = index + 1, lessons[index]
        loads.append(SlotLoad(slot, sum(getting.values()), review_only, position, key, title))
    return loads


def _accounts(session: Session, settings: Settings, now: datetime) -> list[AccountLimits]:
    since = now.replace(second=0, microsecond=0) - timedelta(seconds=DAY_SECONDS)
    limits = []
    for account in settings.accounts:
        sent: tuple[tuple[datetime, int], ...] = ()
        if account.rate_per_day:
            rows = session.execute(
                select(SendCount.minute, SendCount.count).where(
                    SendCount.relay == account.label, SendCount.minute >= since
                )
            ).all()
            sent = tuple((m, int(c)) for m, c in rows)
        limits.append(
            AccountLimits(
                account.name,
                account.rate_per_minute,
                account.rate_per_hour,
                account.rate_per_day,
                sent,
            )
        )
    return limits


def campaign_forecast(
    session: Session, settings: Settings, campaign: Campaign, now: datetime, weeks: int
) -> ForecastOut:
    slots = _upcoming(campaign, now, weeks)
    accounts = _accounts(session, settings, now)
    result = forecast(schedule_of(campaign), _loads(session, campaign, slots), accounts)
    warnings = list(dict.fromkeys(w for slot in result for w in slot.warnings))
    return ForecastOut(
        campaign_id=campaign.id,
        weeks=weeks,
        accounts=[
            ForecastAccount(
                name=a.name,
                transport=a.transport,
                per_minute=a.rate_per_minute,
                per_hour=a.rate_per_hour,
                per_day=a.rate_per_day,
            )
            for a in settings.accounts
        ],
        slots=[
            ForecastSlot(
                at=s.load.at,
                lesson=ForecastLesson(
                    position=s.load.lesson_position,
                    key=s.load.lesson_key,
                    title=s.load.lesson_title,
                )
                if s.load.lesson_position is not None
                and s.load.lesson_key is not None
                and s.load.lesson_title is not None
                else None,
                emails=s.load.emails,
                lesson_emails=s.load.lessons,
                review_emails=s.load.reviews,
                first_at=s.first_at,
                last_at=s.last_at,
                warnings=s.warnings,
            )
            for s in result
        ],
        warnings=warnings,
    )
