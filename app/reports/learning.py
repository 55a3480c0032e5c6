"""The numbers that show whether spaced repetition works, per campaign.

- accuracy by repetition: first answers (baseline) vs the 1st, 2nd, 3rd review;
- the observed forgetting curve: recall by days since the previous answer, with counts;
- actual retention (due reviews answered right) vs the target `desired_retention`;
- completion score: share of an employee's cards retired, per employee and department;
- the funnel: questions sent → viewed → answered → right at the first attempt → retired;
- per-question difficulty from first-attempt accuracy, flagging too easy and confusing ones.
Only answers that moved a schedule (the first answer to the e-mail that carried the question)
are used for accuracy and recall, so re-tries and late answers do not flatter the figures.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Integer, Select, case, func, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, Enrollment
from app.core.groups import NO_DEPARTMENT, OTHER_GROUPS, merge_small
from app.employees.models import Employee
from app.learning.models import RetiredReason, ReviewCard, ReviewLog
from app.learning.schemas import (
    Completion,
    EmployeeCompletion,
    FunnelStep,
    LearningReport,
    QuestionDifficulty,
    Rate,
    Retention,
)
from app.lessons.models import Lesson, LessonVersion
from app.outbox.models import Delivery, DeliveryStatus
from app.tracking.models import Answer, Event, EventClass

SMALL_SAMPLE = 10
FORGETTING_BUCKETS = (
    (0, 3, "0–3"),
    (4, 7, "4–7"),
    (8, 14, "8–14"),
    (15, 30, "15–30"),
    (31, 60, "31–60"),
    (61, None, "60+"),
)
TOO_EASY, CONFUSING, MIN_ANSWERS_TO_FLAG = 0.95, 0.40, 10


def _rate(label: str, n: int, correct: int) -> Rate:
    return Rate(
        label=label,
        n=n,
        correct=correct,
        rate=round(correct / n, 4) if n else None,
        small_sample=n < SMALL_SAMPLE,
    )


def _logs(campaign_id: int) -> Select[ReviewLog]:
    return (
        select(ReviewLog)
        .join(ReviewCard, ReviewCard.id == ReviewLog.card_id)
        .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
        .where(Enrollment.campaign_id == campaign_id, ReviewLog.counted.is_(True))
    )


def accuracy_by_repetition(session: Session, campaign_id: int) -> list[Rate]:
    logs = _logs(campaign_id).subquery()
    rows = dict(
        (number, (n, correct))
        for number, n, correct in session.execute(
            select(
                logs.c.review_number, func.count(), func.sum(logs.c.correct.cast(Integer))
            ).group_by(logs.c.review_number)
        )
    )
    labels = ["first answer", "1st review", "2nd review", "3rd review"]
    return [
        _rate(label, *(int(v or 0) for v in rows.get(i, (0, 0)))) for i, label in enumerate(labels)
    ]


def forgetting_curve(session: Session, campaign_id: int) -> list[Rate]:
    logs = (
        _logs(campaign_id)
        .where(ReviewLog.review_number >= 1, ReviewLog.days_since_exposure.is_not(None))
        .subquery()
    )
    days = func.floor(logs.c.days_since_exposure)
    bucket = case(
        *[
            (days <= high, i)
            for i, (_low, high, _label) in enumerate(FORGETTING_BUCKETS)
            if high is not None
        ],
        else_=len(FORGETTING_BUCKETS) - 1,
    )
    counts = dict(
        (int(b), (int(n), int(c or 0)))
        for b, n, c in session.execute(
            select(bucket, func.count(), func.sum(logs.c.correct.cast(Integer))).group_by(bucket)
        )
    )
    return [
        _rate(label, *counts.get(i, (0, 0))) for i, (_l, _h, label) in enumerate(FORGETTING_BUCKETS)
    ]


def retention(session: Session, campaign: Campaign) -> Retention:
    logs = _logs(campaign.id).where(ReviewLog.review_number >= 1).subquery()
    n, correct = session.execute(select(func.count(), func.sum(logs.c.correct.cast(Integer)))).one()
    return Retention(
        actual=round(int(correct or 0) / n, 4) if n else None,
        target=campaign.desired_retention,
        reviews=n,
    )


def completion(
    session: Session, campaign_id: int, min_group: int
) -> tuple[Completion, list[Completion], list[EmployeeCompletion]]:
    rows = session.execute(
        select(
            Employee.id,
            Employee.department,
            func.count(ReviewCard.id),
            func.count(ReviewCard.retired_at),
        )
        .join(Enrollment, Enrollment.employee_id == Employee.id)
        .join(ReviewCard, ReviewCard.enrollment_id == Enrollment.id)
        .where(
            Enrollment.campaign_id == campaign_id,
            ReviewCard.retired_reason.is_distinct_from(RetiredReason.campaign_ended),
        )
        .group_by(Employee.id, Employee.department)
        .order_by(Employee.department, Employee.id)
    ).all()
    people = [
        EmployeeCompletion(
            employee_id=i,
            department=d or "",
            cards=c,
            retired=r,
            score=round(r / c, 4) if c else None,
        )
        for i, d, c, r in rows
    ]
    groups: dict[str, list[EmployeeCompletion]] = defaultdict(list)
    for person in people:
        groups[person.department].append(person)

    def summary(label: str, members: list[EmployeeCompletion], hide: bool) -> Completion:
        cards, retired = sum(m.cards for m in members), sum(m.retired for m in members)
        if hide:
            return Completion(
                label=label, employees=len(members), cards=0, retired=0, score=None, hidden=True
            )
        return Completion(
            label=label,
            employees=len(members),
            cards=cards,
            retired=retired,
            score=round(retired / cards, 4) if cards else None,
        )

    departments = [
        summary(label, members, len(members) < min_group)
        for label, members in _merge_small(groups, min_group)
    ]
    return summary("all", people, False), departments, people


def _merge_small(
    groups: dict[str, list[EmployeeCompletion]], min_group: int
) -> list[tuple[str, list[EmployeeCompletion]]]:
    """Departments smaller than the threshold merge into one row, as in the HR exports."""
    named = [(d or NO_DEPARTMENT, m) for d, m in sorted(groups.items())]
    return merge_small(
        named,
        min_group,
        size=lambda g: len(g[1]),
        name=lambda g: g[0],
        merge=lambda merged: (OTHER_GROUPS, [p for _, members in merged for p in members]),
    )


def funnel(session: Session, campaign_id: int) -> list[FunnelStep]:
    dialect = session.get_bind().dialect.name
    length = func.jsonb_array_length if dialect == "postgresql" else func.json_array_length
    sent = session.scalar(
        select(
            func.sum(
                case((Delivery.lesson_id.is_not(None), 1), else_=0) + length(Delivery.review_items)
            )
        ).where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.sent)
    )
    in_campaign = select(Delivery.id).where(Delivery.campaign_id == campaign_id)
    touched = select(Event.delivery_id, Event.lesson_id).where(
        Event.delivery_id.in_(in_campaign),
        Event.classification == EventClass.human,
        Event.lesson_id.is_not(None),
    )
    answered_pairs = select(Answer.delivery_id, Answer.lesson_id).where(
        Answer.delivery_id.in_(in_campaign)
    )
    viewed = session.scalar(
        select(func.count()).select_from(touched.union(answered_pairs).subquery())
    )
    answered = session.scalar(
        select(func.count()).select_from(answered_pairs.distinct().subquery())
    )
    correct = session.scalar(
        select(func.count()).where(
            Answer.delivery_id.in_(in_campaign), Answer.attempt == 1, Answer.correct.is_(True)
        )
    )
    retired = session.scalar(
        select(func.count(ReviewCard.id))
        .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
        .where(
            Enrollment.campaign_id == campaign_id,
            ReviewCard.retired_reason == RetiredReason.mastered,
        )
    )
    steps = [
        ("sent", sent),
        ("viewed", viewed),
        ("answered", answered),
        ("correct", correct),
        ("retired", retired),
    ]
    return [FunnelStep(step=name, count=int(value or 0)) for name, value in steps]


def question_difficulty(session: Session, campaign: Campaign) -> list[QuestionDifficulty]:
    in_campaign = select(Delivery.id).where(Delivery.campaign_id == campaign.id)
    chosen: dict[int, dict[int, int]] = defaultdict(dict)
    for lesson_id, option, n in session.execute(
        select(Answer.lesson_id, Answer.option_index, func.count())
        .where(
            Answer.delivery_id.in_(in_campaign), Answer.attempt == 1, Answer.is_review.is_(False)
        )
        .group_by(Answer.lesson_id, Answer.option_index)
    ):
        chosen[lesson_id][option] = n
    lessons = session.execute(
        select(
            Lesson.id,
            Lesson.key,
            LessonVersion.title,
            LessonVersion.correct_index,
            LessonVersion.options,
        )
        .join(
            LessonVersion,
            (LessonVersion.lesson_id == Lesson.id)
            & (LessonVersion.content_hash == Lesson.content_hash),
        )
        .where(Lesson.course_id == campaign.course_id, Lesson.position.is_not(None))
        .order_by(Lesson.position)
    ).all()
    out = []
    for lesson_id, key, title, correct_index, options in lessons:
        counts = [chosen[lesson_id].get(i, 0) for i in range(len(options))]
        n = sum(counts)
        accuracy = counts[correct_index] / n if n else None
        flag = None
        if accuracy is not None and n >= MIN_ANSWERS_TO_FLAG:
            flag = (
                "too_easy"
                if accuracy >= TOO_EASY
                else "confusing"
                if accuracy <= CONFUSING
                else None
            )
        out.append(
            QuestionDifficulty(
                lesson=key,
                title=title,
                n=n,
                first_attempt_accuracy=round(accuracy, 4) if accuracy is not None else None,
                flag=flag,
                chosen=counts,
            )
        )
    return out


def learning_report(session: Session, campaign: Campaign, min_group: int = 5) -> LearningReport:
    overall, departments, people = completion(session, campaign.id, min_group)
    return LearningReport(
        campaign_id=campaign.id,
        accuracy_by_repetition=accuracy_by_repetition(session, campaign.id),
        forgetting_curve=forgetting_curve(session, campaign.id),
        retention=retention(session, campaign),
        completion_overall=overall,
        completion_by_department=departments,
        completion_by_employee=people,
        funnel=funnel(session, campaign.id),
        questions=question_difficulty(session, campaign),
    )


def report_rows(report: LearningReport) -> list[tuple[str, str, int | None, float | None]]:
    """Long format for CSV (section, label, n, value): one table that pivots well in Excel."""
    rows: list[tuple[str, str, int | None, float | None]] = []
    rows += [
        ("accuracy_by_repetition", r.label, r.n, r.rate) for r in report.accuracy_by_repetition
    ]
    rows += [("forgetting_curve_days", r.label, r.n, r.rate) for r in report.forgetting_curve]
    rows.append(("retention", "actual", report.retention.reviews, report.retention.actual))
    rows.append(("retention", "target", None, report.retention.target))
    rows += [
        ("completion_by_department", c.label, c.employees, c.score)
        for c in report.completion_by_department
    ]
    rows += [("funnel", s.step, s.count, None) for s in report.funnel]
    rows += [
        ("question_accuracy", q.lesson, q.n, q.first_attempt_accuracy) for q in report.questions
    ]
    return rows
