"""The JSON shapes of the completion reports (English snake_case keys)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


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
    first_name: str
    last_name: str
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
    bounced: int = 0  # e-mails that came back as bounces
    bounce_reason: str = ""


class DepartmentRowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    department: str
    employees: int
    lessons_sent: int | None
    lessons_viewed: int | None
    questions_answered: int | None
    correct_first_attempt: int | None
    opted_out: int | None
    completed_course: int | None
    completion_pct: int | None
    merged: int = Field(description="Departments merged into this row (0: one department).")
    withheld: bool = Field(description="Fewer people than the privacy threshold: figures null.")


class LessonRowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    lesson: str
    title: str
    sent: int
    viewed: int
    answered: int
    correct_first_attempt: int
    correct_first_pct: int | None
    reviews: int
    reviews_correct_pct: int | None
    mastered: int


class ReportSummary(BaseModel):
    """The campaign's numbers; shares are 0–1, null when there is nothing to divide by."""

    enrolled: int
    opted_out: int
    lessons_sent: int
    questions_answered: int
    completion_pct: int
    completed_course: int = Field(description="People who answered every lesson's question.")
    review_cards: int
    cards_mastered: int
    mastered_share: float | None
    retention_actual: float | None
    retention_target: float
    retention_reviews: int
    accuracy_first_answer: float | None
    accuracy_review_1: float | None
    accuracy_review_2: float | None
    accuracy_review_3: float | None


class CompletionReport(BaseModel):
    """Documents the streamed JSON body; it is never built in memory as a whole."""

    campaign: ReportCampaign
    by: str = Field(description="employee, department or lesson: what one row is.")
    rows: list[CompletionRowOut] | list[DepartmentRowOut] | list[LessonRowOut]
    summary: ReportSummary | None
