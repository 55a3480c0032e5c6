"""Retention: the nightly purge of personal data that is no longer needed.

- A campaign's per-person data (enrollments, e-mails, views and clicks, answers, review cards
  and logs) is deleted `event_retention_months` after the campaign ended. Its totals are kept
  first in `campaign_aggregates`, with the definitions of the completion report.
- A campaign ends when it is finished or cancelled: at its end date or at that status change,
  whichever came first. Draft, running and paused campaigns never expire.
- People deactivated more than `employee_retention_months` ago are erased like an erasure
  request: identity gone, anonymous counts kept.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from app.auth.audit import record_audit
from app.auth.models import ApiKey
from app.campaigns.models import Campaign, CampaignStatus, Enrollment
from app.core.config import Settings
from app.employees.models import Employee
from app.learning.models import ReviewCard, ReviewLog
from app.outbox.models import Delivery
from app.privacy.erasure import erase_employee
from app.reports.figures import status_counts
from app.reports.models import CampaignAggregate
from app.reports.service import completion_rows
from app.tracking.models import Answer, Event

ENDED = (CampaignStatus.finished, CampaignStatus.cancelled)
SYSTEM = "system (nightly purge)"


@dataclass
class PurgeReport:
    dry_run: bool
    campaigns_ended_before: datetime
    deactivated_before: datetime
    campaigns: list[int] = field(default_factory=list)  # purged (or due, in a dry run)
    deleted: dict[str, int] = field(default_factory=dict)  # rows per table
    employees_erased: list[int] = field(default_factory=list)

    @property
    def nothing(self) -> bool:
        return not self.campaigns and not self.employees_erased

    def add(self, counts: dict[str, int]) -> None:
        for name, count in counts.items():
            self.deleted[name] = self.deleted.get(name, 0) + count


def purge_expired(
    session: Session,
    now: datetime,
    settings: Settings,
    *,
    dry_run: bool = False,
    actor: ApiKey | str | None = SYSTEM,
) -> PurgeReport:
    """Delete what has passed its retention period; a dry run only counts. Never commits."""
    report = PurgeReport(
        dry_run=dry_run,
        campaigns_ended_before=months_before(now, settings.event_retention_months),
        deactivated_before=months_before(now, settings.employee_retention_months),
    )
    for campaign in expired_campaigns(session, report.campaigns_ended_before):
        report.campaigns.append(campaign.id)
        report.add(purge_campaign(session, campaign.id, now, dry_run=dry_run))
    for employee_id in erasable_leavers(session, report.deactivated_before):
        report.employees_erased.append(employee_id)
        if not dry_run:
            erase_employee(session, employee_id, now=now, actor=actor)
    if not dry_run and not report.nothing:
        _audit(session, report, now, actor)
    session.flush()
    return report


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (31 March - 1 = 28/29 Feb)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def campaign_ended_at(campaign: Campaign) -> datetime | None:
    """When the campaign ended, or None while it can still send (draft, running, paused)."""
    if campaign.status not in ENDED:
        return None
    ended = campaign.updated_at  # the finish or cancel; a finished campaign never changes again
    if campaign.end_date is not None:
        midnight = datetime.combine(
            campaign.end_date + timedelta(days=1), time(), ZoneInfo(campaign.timezone)
        )
        ended = min(ended, midnight.astimezone(UTC))
    return ended


def expired_campaigns(session: Session, ended_before: datetime) -> list[Campaign]:
    purged = select(CampaignAggregate.campaign_id)
    candidates = session.scalars(
        select(Campaign)
        .where(Campaign.status.in_(ENDED), Campaign.id.not_in(purged))
        .order_by(Campaign.id)
    )
    return [c for c in candidates if (ended := campaign_ended_at(c)) and ended <= ended_before]


def purge_campaign(
    session: Session, campaign_id: int, now: datetime, *, dry_run: bool
) -> dict[str, int]:
    """Keep the campaign's totals, then delete its per-person rows; returns rows per table."""
    if not dry_run:
        session.add(campaign_aggregate(session, campaign_id, now))
    counts: dict[str, int] = {}
    for name, model, where in _campaign_rows(campaign_id):
        counts[name] = _count(session, model, where)
        if not dry_run and counts[name]:
            session.execute(
                delete(model).where(where), execution_options={"synchronize_session": False}
            )
    return counts


def _campaign_rows(campaign_id: int) -> list[tuple[str, Any, ColumnElement[bool]]]:
    """Every per-person table of a campaign, children first (no reliance on ON DELETE)."""
    enrollments = select(Enrollment.id).where(Enrollment.campaign_id == campaign_id)
    deliveries = select(Delivery.id).where(Delivery.campaign_id == campaign_id)
    cards = select(ReviewCard.id).where(ReviewCard.enrollment_id.in_(enrollments))
    return [
        ("review_logs", ReviewLog, ReviewLog.card_id.in_(cards)),
        ("review_cards", ReviewCard, ReviewCard.enrollment_id.in_(enrollments)),
        ("answers", Answer, Answer.enrollment_id.in_(enrollments)),
        ("events", Event, Event.delivery_id.in_(deliveries)),
        ("deliveries", Delivery, Delivery.campaign_id == campaign_id),
        ("enrollments", Enrollment, Enrollment.campaign_id == campaign_id),
    ]


def campaign_aggregate(session: Session, campaign_id: int, now: datetime) -> CampaignAggregate:
    """The campaign's totals as the campaign view and the completion report show them now."""
    counts = status_counts(session, campaign_id)
    totals = dict.fromkeys(
        ("lessons_sent", "lessons_viewed", "questions_answered", "correct_first_attempt"), 0
    )
    for row in completion_rows(session, campaign_id):
        for name in totals:
            totals[name] += getattr(row, name)
    return CampaignAggregate(
        campaign_id=campaign_id,
        purged_at=now,
        enrolled=counts.enrolled,
        opted_out=counts.opted_out,
        emails_sent=counts.sent,
        emails_failed=counts.failed,
        emails_answered=counts.answered,
        emails_bounced=counts.bounced,  # the API's "answered": lesson questions answered
        **totals,
    )


def erasable_leavers(session: Session, deactivated_before: datetime) -> list[int]:
    """People deactivated before the given time and not yet erased."""
    stmt = select(Employee.id).where(
        Employee.active.is_(False),
        Employee.erased_at.is_(None),
        Employee.deactivated_at <= deactivated_before,
    )
    return list(session.scalars(stmt.order_by(Employee.id)))


def _count(session: Session, model: Any, where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(model).where(where)) or 0


def _audit(
    session: Session, report: PurgeReport, now: datetime, actor: ApiKey | str | None
) -> None:
    record_audit(
        session,
        actor=actor,
        action="privacy.purge",
        now=now,
        target=", ".join(f"campaign {c}" for c in report.campaigns)[:200],
        rows=sum(report.deleted.values()),
        detail={
            "campaigns": report.campaigns,
            "deleted": report.deleted,
            "employees_erased": len(report.employees_erased),
            "campaigns_ended_before": report.campaigns_ended_before.isoformat(),
            "deactivated_before": report.deactivated_before.isoformat(),
        },
    )
