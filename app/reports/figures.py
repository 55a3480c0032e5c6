"""A campaign's headline figures: the one definition the API, the dashboard, the CLI and the
retention snapshot all read, so the same word always means the same number.

- enrolled, opted_out: people in the campaign, and those who ended their e-mails;
- emails_sent / emails_failed / emails_pending: e-mails (lessons and review-only) by outcome;
- emails_bounced: e-mails the relay accepted that came back as bounces (not in emails_sent);
- lessons_sent: e-mails that carried a new lesson and were sent (the HR report's "Skickade");
- questions_answered: lesson questions answered at least once, per person and lesson, reviews
  not counted (the HR report's "Frågor besvarade", summed over its rows).

After the retention period the per-person rows are gone; the totals saved in
`campaign_aggregates` at that moment are returned instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.campaigns.models import Enrollment, EnrollmentStatus
from app.campaigns.schemas import CampaignCounts
from app.outbox.models import Delivery, DeliveryStatus
from app.reports.models import CampaignAggregate
from app.reports.service import is_postgres, own_questions, sent_deliveries
from app.tracking.models import Answer


@dataclass(frozen=True)
class CampaignFigures:
    enrolled: int
    opted_out: int
    emails_sent: int
    emails_failed: int
    emails_pending: int
    lessons_sent: int
    questions_answered: int
    emails_bounced: int = 0


def campaign_figures(session: Session, campaign_id: int) -> CampaignFigures:
    frozen = session.get(CampaignAggregate, campaign_id)
    if frozen is not None:  # per-person data deleted after the retention period: totals remain
        return CampaignFigures(
            enrolled=frozen.enrolled,
            opted_out=frozen.opted_out,
            emails_sent=frozen.emails_sent,
            emails_failed=frozen.emails_failed,
            emails_pending=0,
            lessons_sent=frozen.lessons_sent,
            questions_answered=frozen.questions_answered,
            emails_bounced=frozen.emails_bounced,
        )
    by_status = dict(
        session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.campaign_id == campaign_id)
            .group_by(Delivery.status)
        ).all()
    )
    enrolled, opted_out = session.execute(
        select(
            func.count(),
            func.count().filter(Enrollment.status == EnrollmentStatus.opted_out),
        ).where(Enrollment.campaign_id == campaign_id)
    ).one()
    lessons_sent = session.scalar(
        select(func.count(Delivery.id)).where(sent_deliveries(campaign_id, is_postgres(session)))
    )
    answered_pairs = (
        select(Answer.enrollment_id, Answer.lesson_id)
        .where(own_questions(campaign_id))
        .distinct()
        .subquery()
    )
    answered = session.scalar(select(func.count()).select_from(answered_pairs))
    return CampaignFigures(
        enrolled=int(enrolled),
        opted_out=int(opted_out),
        emails_sent=by_status.get(DeliveryStatus.sent, 0),
        emails_failed=by_status.get(DeliveryStatus.failed, 0),
        emails_pending=by_status.get(DeliveryStatus.pending, 0)
        + by_status.get(DeliveryStatus.sending, 0),
        lessons_sent=int(lessons_sent or 0),
        questions_answered=int(answered or 0),
        emails_bounced=by_status.get(DeliveryStatus.bounced, 0),
    )


def status_counts(session: Session, campaign_id: int) -> CampaignCounts:
    """The counts of GET /campaigns/{id}: the same figures under the API's names."""
    f = campaign_figures(session, campaign_id)
    return CampaignCounts(
        enrolled=f.enrolled,
        sent=f.emails_sent,
        failed=f.emails_failed,
        pending=f.emails_pending,
        answered=f.questions_answered,
        opted_out=f.opted_out,
        bounced=f.emails_bounced,
    )
