"""Completion per department and per lesson: the same definitions as the per-employee report.

Small departments are merged by the one rule in app.core.groups. If the whole campaign is
smaller than the threshold, the one merged row keeps its head count and its figures are blank.
Per lesson, every figure is over the whole campaign and nothing is withheld.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Integer, case, distinct, func, literal, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, Enrollment, EnrollmentStatus
from app.core import groups as core_groups
from app.core.groups import NO_DEPARTMENT, OTHER_GROUPS
from app.learning.models import RetiredReason, ReviewCard, ReviewLog
from app.lessons.models import Lesson, LessonVersion
from app.reports.service import (
    completion_pct,
    is_postgres,
    lessons_in_course,
    own_questions,
    per_enrollment,
    read_deliveries,
)
from app.tracking.models import Answer


@dataclass(frozen=True)
class DepartmentRow:
    """Figures are None when withheld; `merged` counts the departments behind a merged row."""

    department: str
    employees: int
    lessons_sent: int | None
    lessons_viewed: int | None
    questions_answered: int | None
    correct_first_attempt: int | None
    opted_out: int | None
    completed_course: int | None
    completion_pct: int | None
    merged: int = 0
    withheld: bool = False


@dataclass(frozen=True)
class DepartmentTotals:
    department: str
    employees: int
    lessons_sent: int
    lessons_viewed: int
    questions_answered: int
    correct_first_attempt: int
    opted_out: int
    completed_course: int
    answered_in_course: int
    merged: int = 0  # how many departments a merged row stands for


_SUMMED = [f.name for f in fields(DepartmentTotals)][1:-1]


def _merge(groups: Sequence[DepartmentTotals]) -> DepartmentTotals:
    sums = {name: sum(getattr(g, name) for g in groups) for name in _SUMMED}
    return DepartmentTotals(department=OTHER_GROUPS, merged=len(groups), **sums)


def department_totals(session: Session, campaign: Campaign) -> list[DepartmentTotals]:
    """Every department's figures before any are merged: never to be shown as they are."""
    lessons = lessons_in_course(session, campaign.course_id)
    query = _department_query(campaign.id, lessons, is_postgres(session))
    return [_totals(r) for r in session.execute(query)]


def department_rows(session: Session, campaign: Campaign, min_group: int) -> list[DepartmentRow]:
    """One row per department, ordered by name, small ones merged (see the module doc)."""
    return shown_departments(session, campaign, department_totals(session, campaign), min_group)


def shown_departments(
    session: Session, campaign: Campaign, totals: Sequence[DepartmentTotals], min_group: int
) -> list[DepartmentRow]:
    lessons = lessons_in_course(session, campaign.course_id)
    return [_row(t, lessons, min_group) for t in merge_small(totals, min_group)]


def _department_query(campaign_id: int, lessons: int, postgres: bool) -> Any:
    base = per_enrollment(campaign_id, postgres).subquery("per_enrollment")
    opted_out = case((base.c.status == EnrollmentStatus.opted_out, 1), else_=0)
    # A course without lessons cannot be completed.
    done = case((base.c.in_course >= lessons, 1), else_=0) if lessons > 0 else literal(0)
    return (
        select(
            base.c.department,
            func.count(),
            func.sum(base.c.sent),
            func.sum(base.c.viewed),
            func.sum(base.c.answered),
            func.sum(base.c.correct_first),
            func.sum(opted_out),
            func.sum(done),
            func.sum(base.c.in_course),
        )
        .group_by(base.c.department)
        .order_by(base.c.department)
    )


def _totals(r: Any) -> DepartmentTotals:
    name, *numbers = r
    return DepartmentTotals(name or NO_DEPARTMENT, *(int(n or 0) for n in numbers))


def merge_small(groups: Sequence[DepartmentTotals], min_group: int) -> list[DepartmentTotals]:
    return core_groups.merge_small(
        groups, min_group, size=lambda g: g.employees, name=lambda g: g.department, merge=_merge
    )


def _row(t: DepartmentTotals, lessons: int, min_group: int) -> DepartmentRow:
    if t.employees < min_group:
        return DepartmentRow(
            t.department, t.employees, None, None, None, None, None, None, None, t.merged, True
        )
    return DepartmentRow(
        department=t.department,
        employees=t.employees,
        lessons_sent=t.lessons_sent,
        lessons_viewed=t.lessons_viewed,
        questions_answered=t.questions_answered,
        correct_first_attempt=t.correct_first_attempt,
        opted_out=t.opted_out,
        completed_course=t.completed_course,
        completion_pct=completion_pct(t.answered_in_course, t.employees * lessons),
        merged=t.merged,
    )


@dataclass(frozen=True)
class LessonRow:
    position: int
    lesson: str
    title: str
    sent: int
    viewed: int
    answered: int
    correct_first_attempt: int
    correct_first_pct: int | None
    reviews: int
    reviews_correct_pct: int | None
    mastered: int


def lesson_rows(session: Session, campaign: Campaign) -> list[LessonRow]:
    """One row per lesson of the course, in course order (a course has tens of lessons)."""
    sent = _by_lesson(session, _sent_viewed_by_lesson(campaign.id, is_postgres(session)))
    first = _by_lesson(session, _first_by_lesson(campaign.id))
    reviews = _by_lesson(session, _reviews_by_lesson(campaign.id))
    mastered = _by_lesson(session, _mastered_by_lesson(campaign.id))
    rows = []
    for lesson_id, position, key, title in session.execute(_course_lessons(campaign.course_id)):
        n_sent, n_viewed = sent.get(lesson_id, (0, 0))
        n_answered, n_right = first.get(lesson_id, (0, 0))
        n_reviews, n_reviews_right = reviews.get(lesson_id, (0, 0))
        rows.append(
            LessonRow(
                position=position,
                lesson=key,
                title=title,
                sent=n_sent,
                viewed=n_viewed,
                answered=n_answered,
                correct_first_attempt=n_right,
                correct_first_pct=_pct(n_right, n_answered),
                reviews=n_reviews,
                reviews_correct_pct=_pct(n_reviews_right, n_reviews),
                mastered=mastered.get(lesson_id, (0,))[0],
            )
        )
    return rows


def _pct(part: int, whole: int) -> int | None:
    return completion_pct(part, whole) if whole else None


def _by_lesson(session: Session, stmt: Any) -> dict[int, tuple[int, ...]]:
    return {r[0]: tuple(int(v or 0) for v in r[1:]) for r in session.execute(stmt)}


def _sent_viewed_by_lesson(campaign_id: int, postgres: bool) -> Any:
    # One delivery per person and lesson (a unique constraint): rows are people.
    mails = read_deliveries(campaign_id, postgres)
    return select(mails.c.lesson_id, func.count(), func.sum(mails.c.read)).group_by(
        mails.c.lesson_id
    )


def _first_by_lesson(campaign_id: int) -> Any:
    right_first = case(((Answer.attempt == 1) & Answer.correct.is_(True), 1), else_=0)
    return (
        select(Answer.lesson_id, func.count(distinct(Answer.enrollment_id)), func.sum(right_first))
        .where(own_questions(campaign_id))
        .group_by(Answer.lesson_id)
    )


def _reviews_by_lesson(campaign_id: int) -> Any:
    # The same answers as the retention figure: reviews that moved a schedule.
    return (
        select(ReviewCard.lesson_id, func.count(), func.sum(ReviewLog.correct.cast(Integer)))
        .join(ReviewCard, ReviewCard.id == ReviewLog.card_id)
        .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
        .where(
            Enrollment.campaign_id == campaign_id,
            ReviewLog.counted.is_(True),
            ReviewLog.review_number >= 1,
        )
        .group_by(ReviewCard.lesson_id)
    )


def _mastered_by_lesson(campaign_id: int) -> Any:
    return (
        select(ReviewCard.lesson_id, func.count())
        .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
        .where(
            Enrollment.campaign_id == campaign_id,
            ReviewCard.retired_reason == RetiredReason.mastered,
        )
        .group_by(ReviewCard.lesson_id)
    )


def _course_lessons(course_id: int) -> Any:
    return (
        select(Lesson.id, Lesson.position, Lesson.key, LessonVersion.title)
        .join(
            LessonVersion,
            (LessonVersion.lesson_id == Lesson.id)
            & (LessonVersion.content_hash == Lesson.content_hash),
        )
        .where(Lesson.course_id == course_id, Lesson.position.is_not(None))
        .order_by(Lesson.position)
    )
