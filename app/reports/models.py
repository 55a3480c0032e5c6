from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class CampaignAggregate(Base):
    """A campaign's totals, frozen when its per-person data was deleted after the retention period.

    A row here means the campaign was purged: its enrollments, e-mails, events, answers and review
    cards are gone, and reports and counts must read these numbers instead. Nothing in it refers
    to a person. The definitions are those of the completion report and the campaign counts.
    """

    __tablename__ = "campaign_aggregates"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    purged_at: Mapped[datetime]
    enrolled: Mapped[int]
    opted_out: Mapped[int]
    # Campaign counts (GET /campaigns/{id}): e-mails by outcome, e-mails with any answer.
    emails_sent: Mapped[int]
    emails_failed: Mapped[int]
    emails_answered: Mapped[int]
    emails_bounced: Mapped[int] = mapped_column(default=0, server_default="0")
    # Completion report totals (sums over its rows).
    lessons_sent: Mapped[int]
    lessons_viewed: Mapped[int]
    questions_answered: Mapped[int]
    correct_first_attempt: Mapped[int]
