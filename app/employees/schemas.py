"""API shapes for employees: list and detail, the edit body and the import result."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from app.employees.importer import MAX_EMPLOYEE_NUMBER, InvalidEmailError, normalise_email
from app.employees.models import EmployeeSource

ImportMode = Literal["upsert", "sync"]
MAX_PAGE_SIZE = 500


class EmployeeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str | None
    first_name: str
    last_name: str
    full_name: str
    department: str
    employee_number: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    deactivated_at: datetime | None
    source: EmployeeSource = Field(
        description="file: the staff-list import; scim: the identity provider (Entra ID)."
    )


class EmployeeList(BaseModel):
    items: list[EmployeeOut]
    total: int = Field(description="How many employees match the filters (all pages).")
    limit: int
    offset: int


class EmployeePatch(BaseModel):
    """Only the fields sent are changed; employee_number may be null to remove it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str | None = Field(default=None, examples=["anna.berg@kommun.se"])
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    department: str | None = Field(default=None, max_length=200)
    employee_number: str | None = Field(default=None, max_length=MAX_EMPLOYEE_NUMBER)
    active: bool | None = None

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalise_email(value)
        except InvalidEmailError as exc:
            raise PydanticCustomError("email", str(exc)) from None

    @field_validator("employee_number")
    @classmethod
    def _blank_number_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _no_null_except_number(self) -> EmployeePatch:
        nullable = {"employee_number"}
        for name in self.model_fields_set - nullable:
            if getattr(self, name) is None:
                raise PydanticCustomError(
                    "not_null",
                    "{name} får inte vara null; utelämna fältet i stället.",
                    {"name": name},
                )
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ImportRowError(BaseModel):
    row: int | None = Field(description="Row as Excel shows it (header = 1); null = whole file.")
    field: str
    message: str


class ImportResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    created: int
    updated: int
    deactivated: int
    unchanged: int
    errors: list[ImportRowError]
    warnings: list[str]
    dry_run: bool
    mode: ImportMode


class EmployeeExport(BaseModel):
    """Everything stored about one person (GDPR right of access), every column as stored."""

    generated_at: datetime
    employee: dict[str, Any]
    campaigns: list[dict[str, Any]] = Field(description="Id and name of each campaign.")
    lessons: list[dict[str, Any]] = Field(description="Id and key of each lesson referred to.")
    enrollments: list[dict[str, Any]]
    deliveries: list[dict[str, Any]] = Field(description="E-mails; link tokens are not stored.")
    events: list[dict[str, Any]] = Field(description="Views, answer-link clicks and opt-outs.")
    answers: list[dict[str, Any]]
    review_cards: list[dict[str, Any]]
    review_logs: list[dict[str, Any]]
    opt_outs: list[dict[str, Any]]
    audit_log: list[dict[str, Any]] = Field(description="Earlier changes and exports of the data.")


class EmployeeDeletion(BaseModel):
    """What DELETE did: deactivated only, or erased with rows removed and kept anonymously."""

    id: int
    action: Literal["deactivated", "erased"]
    at: datetime
    deleted: dict[str, int] = Field(default_factory=dict, description="Rows removed, per table.")
    anonymised: dict[str, int] = Field(
        default_factory=dict, description="Rows kept without identity, per table."
    )
