from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, JSONType


class CampaignStatus(StrEnum):
    draft = "draft"
    running = "running"
    paused = "paused"
    cancelled = "cancelled"
    finished = "finished"

    @property
    def swedish(self) -> str:
        """The word people read: on the dashboard, in exports and in report e-mails."""
        return _STATUS_SV[self]


_STATUS_SV = {
    CampaignStatus.draft: "Utkast",
    CampaignStatus.running: "Pågår",
    CampaignStatus.paused: "Pausad",
    CampaignStatus.cancelled: "Avbruten",
    CampaignStatus.finished: "Avslutad",
}


class EnrollmentStatus(StrEnum):
    active = "active"
    opted_out = "opted_out"
    removed = "removed"  # employee deactivated or left the audience


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    status: Mapped[CampaignStatus] = mapped_column(String(16), default=CampaignStatus.draft)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    departments: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    weekdays: Mapped[list[int]] = mapped_column(JSONType())  # 0 = Monday … 6 = Sunday
    send_time: Mapped[time]
    # Demo and test campaigns only: a slot every N minutes instead of the weekly schedule.
    interval_minutes: Mapped[int | None]
    timezone: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[time]
    window_end: Mapped[time]
    window_weekdays: Mapped[list[int]] = mapped_column(JSONType(), default=lambda: [0, 1, 2, 3, 4])
    desired_retention: Mapped[float] = mapped_column(default=0.9)
    max_reviews_per_email: Mapped[int] = mapped_column(default=1)
    # A review card retires after this many right answers in a row on reviews.
    retire_after: Mapped[int] = mapped_column(default=2)
    owner_emails: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    # The municipality's own contacts (Markdown), shown after the course's help text.
    local_help: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    # The latest send slot the planner has fully planned: each slot is planned once.
    planned_slot_at: Mapped[datetime | None]


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("campaign_id", "employee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(
        ForeignKey("employees.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[EnrollmentStatus] = mapped_column(String(16), default=EnrollmentStatus.active)
    enrolled_at: Mapped[datetime]
    opted_out_at: Mapped[datetime | None]
