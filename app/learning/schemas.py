from __future__ import annotations

from pydantic import BaseModel, Field


class Rate(BaseModel):
    label: str
    n: int = Field(
        description="How many answers the figure rests on; small n means an uncertain figure."
    )
    correct: int
    rate: float | None = Field(description="correct / n, or null when n is 0")
    small_sample: bool = Field(description="n below 10: read with care")


class Retention(BaseModel):
    actual: float | None = Field(description="Share of due reviews answered right.")
    target: float = Field(description="The campaign's desired_retention.")
    reviews: int


class Completion(BaseModel):
    label: str
    employees: int
    cards: int
    retired: int
    score: float | None = Field(description="Share of cards retired.")
    hidden: bool = Field(
        default=False, description="Group smaller than the privacy threshold: figures withheld."
    )


class EmployeeCompletion(BaseModel):
    employee_id: int
    department: str
    cards: int
    retired: int
    score: float | None


class FunnelStep(BaseModel):
    step: str
    count: int


class QuestionDifficulty(BaseModel):
    lesson: str
    title: str
    n: int
    first_attempt_accuracy: float | None
    flag: str | None = Field(description="too_easy, confusing, or null")
    chosen: list[int] = Field(description="How often each option was chosen at the first attempt.")


class LearningReport(BaseModel):
    campaign_id: int
    accuracy_by_repetition: list[Rate]
    forgetting_curve: list[Rate]
    retention: Retention
    completion_overall: Completion
    completion_by_department: list[Completion]
    completion_by_employee: list[EmployeeCompletion]
    funnel: list[FunnelStep]
    questions: list[QuestionDifficulty]
