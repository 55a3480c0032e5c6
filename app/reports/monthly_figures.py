"""What the monthly report says: the month that ended against the month before it, from the
timestamps already stored (so nothing needs to be kept between reports), and when it is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, Enrollment
from app.core.i18n import month_names
from app.learning.models import RetiredReason, ReviewCard
from app.lessons.models import Lesson
from app.outbox.models import Delivery
from app.reports.service import in_campaign, lessons_in_course, sent_deliveries
from app.tracking.models import Answer

MONTHS = month_names("sv")


def first_weekday(year: int, month: int) -> date:
    day = date(year, month, 1)
    while day.weekday() >= 5:  # Saturday, Sunday
        day += timedelta(days=1)
    return day


def is_report_day(now: datetime, tz: ZoneInfo) -> bool:
    """The first Monday–Friday of the month, in the campaign's time zone."""
    today = now.astimezone(tz).date()
    return today == first_weekday(today.year, today.month)


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_name(day: date) -> str:
    return f"{MONTHS[day.month - 1]} {day.year}"


def month_start(day: date, tz: ZoneInfo, back: int = 0) -> datetime:
    """Midnight starting the month `back` months before `day`'s month, as UTC."""
    month = day.year * 12 + day.month - 1 - back
    local = datetime.combine(date(month // 12, month % 12 + 1, 1), time(), tzinfo=tz)
    return local.astimezone(UTC)


@dataclass(frozen=True)
class MonthActivity:
    enrolled: int
    lessons_sent: int
    answered: int  # first answers to the questions of an e-mail, reviews included
    correct: int  # of those, right
    mastered: int
    completed: int  # people who answered their last lesson's question that month
    opted_out: int


def month_activity(
    session: Session, campaign_id: int, start: datetime, end: datetime
) -> MonthActivity:
    in_campaign = Enrollment.campaign_id == campaign_id
    answers = (
        select(func.count(Answer.id))
        .join(Enrollment, Enrollment.id == Answer.enrollment_id)
        .where(in_campaign, Answer.attempt == 1, Answer.answered_at >= start)
        .where(Answer.answered_at < end)
    )
    row = session.execute(
        select(
            select(func.count(Enrollment.id))
            .where(in_campaign, Enrollment.enrolled_at >= start, Enrollment.enrolled_at < end)
            .scalar_subquery(),
            select(func.count(Delivery.id))
            .where(sent_deliveries(campaign_id), Delivery.sent_at >= start, Delivery.sent_at < end)
            .scalar_subquery(),
            answers.scalar_subquery(),
            answers.where(Answer.correct.is_(True)).scalar_subquery(),
            select(func.count(ReviewCard.id))
            .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
            .where(in_campaign, ReviewCard.retired_reason == RetiredReason.mastered)
            .where(ReviewCard.retired_at >= start, ReviewCard.retired_at < end)
            .scalar_subquery(),
            select(func.count(Enrollment.id))
            .where(in_campaign, Enrollment.opted_out_at >= start, Enrollment.opted_out_at < end)
            .scalar_subquery(),
        )
    ).one()
    enrolled, sent, answered, correct, mastered, opted_out = (int(v or 0) for v in row)
    return MonthActivity(
        enrolled, sent, answered, correct, mastered, _completed(session, campaign_id, start, end),
        opted_out,
    )  # fmt: skip


def _completed(session: Session, campaign_id: int, start: datetime, end: datetime) -> int:
    """People whose last lesson question was first answered in [start, end): they completed the
    course then (the definition of the xAPI "completed" statement)."""
    course_id = session.scalar(select(Campaign.course_id).where(Campaign.id == campaign_id))
    lessons = lessons_in_course(session, course_id) if course_id is not None else 0
    if lessons == 0:
        return 0  # a course without lessons cannot be completed
    per_person = (
        select(
            func.count(distinct(Answer.lesson_id)).label("answered"),
            func.max(Answer.answered_at).label("at"),
        )
        .join(Lesson, Lesson.id == Answer.lesson_id)
        .where(Answer.is_review.is_(False), Answer.attempt == 1, Lesson.position.is_not(None))
        .where(in_campaign(Answer.enrollment_id, campaign_id))
        .group_by(Answer.enrollment_id)
        .subquery()
    )
    done = select(func.count()).where(
        per_person.c.answered >= lessons, per_person.c.at >= start, per_person.c.at < end
    )
    return int(session.scalar(done) or 0)
