"""The campaign list: every campaign with its headline numbers and next e-mail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.service import list_campaigns
from app.dashboard.formatting import number
from app.dashboard.views import labels
from app.lessons.models import Course
from app.reports.figures import campaign_figures


@dataclass(frozen=True)
class CampaignRow:
    id: int
    name: str
    course: str
    status: str
    status_key: str  # for the badge's colour; the word says it too
    enrolled: str
    lessons_sent: str
    answered: str
    next_send: str


def campaign_rows(session: Session, now: datetime) -> list[CampaignRow]:
    """Newest first. The counts are app.reports.figures' definitions, as everywhere."""
    courses = dict(session.execute(select(Course.id, Course.title)).all())
    rows = []
    for campaign in list_campaigns(session):
        totals = campaign_figures(session, campaign.id)
        rows.append(
            CampaignRow(
                id=campaign.id,
                name=campaign.name,
                course=courses.get(campaign.course_id, ""),
                status=labels.status(campaign),
                status_key=str(campaign.status),
                enrolled=number(totals.enrolled),
                lessons_sent=number(totals.lessons_sent),
                answered=number(totals.questions_answered),
                next_send=labels.next_send(campaign, now),
            )
        )
    return rows
