"""The JSON shape of the completion report (English snake_case keys)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict


class ReportCampaign(BaseModel):
    id: int
    name: str
    status: str
    course_id: int
    course_title: str
    lessons_in_course: int
    start_date: date
    end_date: date | None
    generated_at: datetime


class CompletionRowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    employee_id: int
    name: str
    email: str | None
    department: str
    employee_number: str | None
    lessons_sent: int
    lessons_viewed: int
    questions_answered: int
    correct_first_attempt: int
    opted_out: bool
    opted_out_at: datetime | None
    completion_pct: int


class CompletionReport(BaseModel):
    """Documents the streamed JSON body; it is never built in memory as a whole."""

    campaign: ReportCampaign
    rows: list[CompletionRowOut]
