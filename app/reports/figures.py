"""A campaign's status figures (enrolled, sent, failed, pending, answered, opted out): the one
definition the API, the dashboard, the CLI and the retention snapshot all read.

After the retention period the per-person rows are gone; the totals saved in
`campaign_aggregates` at that moment are returned instead.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.campaigns.models import Enrollment, EnrollmentStatus
from app.campaigns.schemas import CampaignCounts
from app.outbox.models import Delivery, DeliveryStatus
from app.reports.models import CampaignAggregate
from app.tracking.models import Answer


def status_counts(session: Session, campaign_id: int) -> CampaignCounts:
    frozen = session.get(CampaignAggregate, campaign_id)
    if frozen is not None:  # per-person data deleted after the retention period: totals remain
        return CampaignCounts(
            enrolled=frozen.enrolled,
            sent=frozen.emails_sent,
            failed=frozen.emails_failed,
            pending=0,
            answered=frozen.emails_answered,
            opted_out=frozen.opted_out,
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
    answered = session.scalar(
        select(func.count(func.distinct(Answer.delivery_id)))
        .join(Delivery, Delivery.id == Answer.delivery_id)
        .where(Delivery.campaign_id == campaign_id)
    )
    return CampaignCounts(
        enrolled=enrolled,
        sent=by_status.get(DeliveryStatus.sent, 0),
        failed=by_status.get(DeliveryStatus.failed, 0),
        pending=by_status.get(DeliveryStatus.pending, 0) + by_status.get(DeliveryStatus.sending, 0),
        answered=answered or 0,
        opted_out=opted_out,
    )
