"""The monthly progress report: on the first weekday of each month, in the campaign's time zone,
an e-mail to the campaign's owners with the funnel, completion per department, retention and
what changed in the month that ended, the per-department XLSX attached.

Once per campaign and month: a report that went out is in the audit log ("report.monthly",
target "campaign <id>", detail month "YYYY-MM"), and a campaign with one for this month is
skipped. The job runs hourly, so a relay that is down at the first run is tried again the same
day; a day missed altogether is not caught up (the report belongs to the first weekday).
Running and paused campaigns that started before this month get one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.audit import record_audit
from app.auth.models import AuditEntry
from app.campaigns.models import Campaign, CampaignStatus
from app.core.config import Settings
from app.core.db import session_scope
from app.core.locks import MONTHLY_LOCK_KEY, job_lock
from app.core.mail import Mailer
from app.core.runtime import Runtime
from app.reports.groups import department_rows
from app.reports.learning import funnel, retention
from app.reports.monthly_figures import (
    is_report_day,
    month_activity,
    month_key,
    month_name,
    month_start,
)
from app.reports.monthly_mail import MonthlyContent, build_message
from app.reports.service import report_campaign
from app.reports.summary import campaign_summary, summary_lines
from app.reports.tables import DEPARTMENT
from app.reports.xlsx import xlsx_chunks

log = logging.getLogger(__name__)

ACTION = "report.monthly"
REPORTED_STATUSES = (CampaignStatus.running, CampaignStatus.paused)


@dataclass(frozen=True)
class MonthlyReport:
    campaign_id: int
    month: str  # the month it is sent in, "2026-02": the idempotency key
    recipients: list[str]
    message: EmailMessage
    rows: int


async def send_monthly_reports(runtime: Runtime, now: datetime, mailer: Mailer) -> int:
    """Send the reports due now through `mailer`; returns how many went out. Safe to run any
    number of times."""
    # The lock costs two short queries on the event loop; the work itself runs in threads.
    with job_lock(runtime.engine, MONTHLY_LOCK_KEY) as held:
        if not held:
            return 0
        due = await asyncio.to_thread(due_reports, runtime, now)
        sent = 0
        for report in due:
            if await _send(mailer, report):
                await asyncio.to_thread(_record, runtime, report, now)
                sent += 1
        return sent


def due_reports(runtime: Runtime, now: datetime) -> list[MonthlyReport]:
    with runtime.session_factory() as session:
        return [
            _report(session, runtime.settings, campaign, now)
            for campaign in _candidates(session, now)
            if not _already_sent(session, campaign.id, _month(campaign, now))
        ]


def _candidates(session: Session, now: datetime) -> list[Campaign]:
    campaigns = session.scalars(
        select(Campaign)
        .where(Campaign.status.in_(REPORTED_STATUSES), Campaign.started_at.is_not(None))
        .order_by(Campaign.id)
    )
    return [c for c in campaigns if c.owner_emails and _due(c, now)]


def _due(campaign: Campaign, now: datetime) -> bool:
    tz = ZoneInfo(campaign.timezone)
    # A campaign that started this month has no month to report yet.
    started = campaign.started_at
    this_month = month_start(now.astimezone(tz).date(), tz)
    return is_report_day(now, tz) and started is not None and started < this_month


def _month(campaign: Campaign, now: datetime) -> str:
    return month_key(now.astimezone(ZoneInfo(campaign.timezone)).date())


def _already_sent(session: Session, campaign_id: int, month: str) -> bool:
    details = session.scalars(
        select(AuditEntry.detail).where(
            AuditEntry.action == ACTION, AuditEntry.target == f"campaign {campaign_id}"
        )
    )
    return any(detail.get("month") == month for detail in details)


def _report(
    session: Session, settings: Settings, campaign: Campaign, now: datetime
) -> MonthlyReport:
    tz = ZoneInfo(campaign.timezone)
    today = now.astimezone(tz).date()
    this, last, before = (month_start(today, tz, back) for back in (0, 1, 2))
    header = report_campaign(session, campaign, now)
    departments = department_rows(session, campaign, settings.report_min_group_size)
    content = MonthlyContent(
        campaign=header,
        covers=month_name(last.astimezone(tz).date()),
        before=month_name(before.astimezone(tz).date()),
        funnel=funnel(session, campaign.id),
        last_month=month_activity(session, campaign.id, last, this),
        month_before=month_activity(session, campaign.id, before, last),
        departments=departments,
        retention=retention(session, campaign),
        min_group=settings.report_min_group_size,
    )
    summary = campaign_summary(session, campaign)
    attachment = b"".join(
        xlsx_chunks(DEPARTMENT, departments, tz, lambda: summary_lines(header, summary, tz))
    )
    month = month_key(today)
    message = build_message(
        content,
        sender=settings.mail_from,
        owners=campaign.owner_emails,
        message_id=f"<monthly-report-{campaign.id}-{month}@{settings.mail_domain}>",
        now=now,
        attachment=attachment,
        filename=f"manadsrapport-{campaign.id}-{month_key(last.astimezone(tz).date())}.xlsx",
    )
    return MonthlyReport(campaign.id, month, list(campaign.owner_emails), message, len(departments))


async def _send(mailer: Mailer, report: MonthlyReport) -> bool:
    error = await mailer(report.message, report.recipients)
    if error is not None:
        # Not recorded, so the next hourly run tries again.
        log.warning("monthly report for campaign %d not sent: %s", report.campaign_id, error)
        return False
    return True


def _record(runtime: Runtime, report: MonthlyReport, now: datetime) -> None:
    with session_scope(runtime.session_factory) as session:
        record_audit(
            session,
            actor="system",
            action=ACTION,
            now=now,
            target=f"campaign {report.campaign_id}",
            rows=report.rows,
            detail={"month": report.month, "recipients": len(report.recipients)},
        )
