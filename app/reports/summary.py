"""A campaign's headline numbers, for the summary sheet, the JSON export and the monthly mail.

Completion (%) is answered questions about lessons in the course ÷ (enrolled × lessons); a
person completed the course when they answered every lesson's question (Genomfört = 100 %).
Retention and accuracy are app.reports.learning' figures (the learning report), read in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, func, literal, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignStatus, Enrollment, EnrollmentStatus
from app.learning.models import RetiredReason, ReviewCard, ReviewLog
from app.outbox.models import Delivery
from app.reports.groups import DepartmentTotals
from app.reports.schemas import ReportCampaign, ReportSummary
from app.reports.service import (
    CompletionRow,
    completion_pct,
    first_answers,
    in_campaign,
    is_postgres,
    lessons_in_course,
    sent_deliveries,
)


@dataclass
class CampaignCounts:
    """The people part of the summary: summed from a report's rows as they stream, or queried."""

    enrolled: int = 0
    opted_out: int = 0
    lessons_sent: int = 0
    questions_answered: int = 0
    answered_in_course: int = 0
    completed_course: int = 0

    def add_person(self, row: CompletionRow, lessons: int) -> None:
        self.enrolled += 1
        self.opted_out += row.opted_out
        self.lessons_sent += row.lessons_sent
        self.questions_answered += row.questions_answered
        self.answered_in_course += row.answered_in_course
        self.completed_course += lessons > 0 and row.answered_in_course >= lessons

    def add_department(self, group: DepartmentTotals) -> None:
        self.enrolled += group.employees
        self.opted_out += group.opted_out
        self.lessons_sent += group.lessons_sent
        self.questions_answered += group.questions_answered
        self.answered_in_course += group.answered_in_course
        self.completed_course += group.completed_course


def campaign_counts(session: Session, campaign: Campaign, lessons: int) -> CampaignCounts:
    enrolled, opted_out, sent = _people_and_mail(session, campaign.id)
    answered, in_course, completed = _completion(session, campaign.id, lessons)
    return CampaignCounts(enrolled, opted_out, sent, answered, in_course, completed)


def campaign_summary(
    session: Session, campaign: Campaign, counts: CampaignCounts | None = None
) -> ReportSummary:
    """The summary; pass `counts` when a report has already summed them from its rows."""
    lessons = lessons_in_course(session, campaign.course_id)
    c = counts or campaign_counts(session, campaign, lessons)
    cards, mastered = _cards(session, campaign.id)
    reviews = _reviews(session, campaign.id)
    again = [v for number, v in reviews.items() if number >= 1]
    retention_n, retention_right = sum(n for n, _ in again), sum(r for _, r in again)
    accuracy = [_share(*reviews.get(number, (0, 0))) for number in range(4)]
    return ReportSummary(
        enrolled=c.enrolled,
        opted_out=c.opted_out,
        lessons_sent=c.lessons_sent,
        questions_answered=c.questions_answered,
        completion_pct=completion_pct(c.answered_in_course, c.enrolled * lessons),
        completed_course=c.completed_course,
        review_cards=cards,
        cards_mastered=mastered,
        mastered_share=round(mastered / cards, 4) if cards else None,
        retention_actual=_share(retention_n, retention_right),
        retention_target=campaign.desired_retention,
        retention_reviews=retention_n,
        accuracy_first_answer=accuracy[0],
        accuracy_review_1=accuracy[1],
        accuracy_review_2=accuracy[2],
        accuracy_review_3=accuracy[3],
    )


def _share(n: int, right: int) -> float | None:
    return round(right / n, 4) if n else None


def _people_and_mail(session: Session, campaign_id: int) -> tuple[int, int, int]:
    opted_out = case((Enrollment.status == EnrollmentStatus.opted_out, 1), else_=0)
    people = select(func.count(Enrollment.id), func.sum(opted_out)).where(
        Enrollment.campaign_id == campaign_id
    )
    enrolled, out = session.execute(people).one()
    sent = session.scalar(
        select(func.count(Delivery.id)).where(
            in_campaign(Delivery.enrollment_id, campaign_id),
            sent_deliveries(campaign_id, is_postgres(session)),
        )
    )
    return int(enrolled or 0), int(out or 0), int(sent or 0)


def _completion(session: Session, campaign_id: int, lessons: int) -> tuple[int, int, int]:
    """Questions answered, those about lessons in the course, and people who answered all."""
    per_person = first_answers(campaign_id)
    done = case((per_person.c.in_course >= lessons, 1), else_=0) if lessons else literal(0)
    row = session.execute(
        select(func.sum(per_person.c.answered), func.sum(per_person.c.in_course), func.sum(done))
    ).one()
    return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)


def _reviews(session: Session, campaign_id: int) -> dict[int, tuple[int, int]]:
    """(answers, right ones) per review number (0: the first answer), in one pass.

    The answers app.reports.learning uses for accuracy by repetition and retention: those
    that moved a schedule (`counted`); a test keeps the two in step.
    """
    rows = session.execute(
        select(ReviewLog.review_number, func.count(), func.sum(ReviewLog.correct.cast(Integer)))
        .join(ReviewCard, ReviewCard.id == ReviewLog.card_id)
        .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
        .where(Enrollment.campaign_id == campaign_id, ReviewLog.counted.is_(True))
        .group_by(ReviewLog.review_number)
    )
    return {int(number): (int(n), int(right or 0)) for number, n, right in rows}


def _cards(session: Session, campaign_id: int) -> tuple[int, int]:
    # Cards retired because the campaign ended were not learnt: they count as neither.
    mastered = case((ReviewCard.retired_reason == RetiredReason.mastered, 1), else_=0)
    row = session.execute(
        select(func.count(ReviewCard.id), func.sum(mastered))
        .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
        .where(
            Enrollment.campaign_id == campaign_id,
            ReviewCard.retired_reason.is_distinct_from(RetiredReason.campaign_ended),
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


# (label, value, kind): kind "share" is 0–1 (shown as a percentage), "date" a date, else as is.
SummaryLine = tuple[str, str | int | float | date | None, str]


def _status_word(status: str) -> str:
    return CampaignStatus(status).swedish if status in set(CampaignStatus) else status


def summary_lines(
    campaign: ReportCampaign, summary: ReportSummary, tz: ZoneInfo
) -> list[SummaryLine]:
    """The summary as labelled lines, for the XLSX sheet and the monthly e-mail."""
    s = summary
    return [
        ("Kampanj", campaign.name, "text"),
        ("Kurs", campaign.course_title, "text"),
        ("Status", _status_word(campaign.status), "text"),
        ("Lektioner i kursen", campaign.lessons_in_course, "int"),
        ("Startdatum", campaign.start_date, "date"),
        ("Slutdatum", campaign.end_date, "date"),
        ("Rapporten skapad", campaign.generated_at.astimezone(tz).date(), "date"),
        ("Inskrivna", s.enrolled, "int"),
        ("Avanmälda", s.opted_out, "int"),
        ("Lektioner skickade", s.lessons_sent, "int"),
        ("Frågor besvarade", s.questions_answered, "int"),
        ("Genomfört (%)", s.completion_pct, "int"),
        ("Genomfört hela kursen (personer)", s.completed_course, "int"),
        ("Repetitionsfrågor", s.review_cards, "int"),
        ("Inlärda frågor", s.cards_mastered, "int"),
        ("Andel inlärda", s.mastered_share, "share"),
        ("Retention (rätt på repetitioner)", s.retention_actual, "share"),
        ("Retention, mål", s.retention_target, "share"),
        ("Repetitioner besvarade", s.retention_reviews, "int"),
        ("Rätt vid första svaret", s.accuracy_first_answer, "share"),
        ("Rätt vid 1:a repetitionen", s.accuracy_review_1, "share"),
        ("Rätt vid 2:a repetitionen", s.accuracy_review_2, "share"),
        ("Rätt vid 3:e repetitionen", s.accuracy_review_3, "share"),
    ]
