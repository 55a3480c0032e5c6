from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from app.campaigns.models import CampaignStatus
from app.campaigns.schedule import WEEKDAY_NAMES
from app.core.i18n import Text
from app.core.markdown import LOCAL_HELP_MAX, local_help_problems

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKWEEK: list[Weekday] = ["mon", "tue", "wed", "thu", "fri"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Audience(Strict):
    departments: list[str] = Field(
        default_factory=list,
        description="Departments to include; empty means every active employee.",
    )


class ScheduleIn(Strict):
    start_date: date
    weekdays: list[Weekday] = Field(min_length=1, description='Send days, e.g. ["tue", "thu"].')
    time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Local send time, HH:MM.")
    timezone: str = "Europe/Stockholm"
    end_date: date | None = None
    window_start: str = Field(default="07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    window_end: str = Field(default="17:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    window_weekdays: list[Weekday] = Field(
        default_factory=lambda: list(WORKWEEK),
        min_length=1,
        description="Days mail may go out; a missed slot is sent in the next window.",
    )
    interval_minutes: int | None = Field(
        default=None, ge=1, le=1440, description="Demos only: a slot every N minutes."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                Text(
                    f"Tidszonen ”{value}” finns inte. Skriv t.ex. Europe/Stockholm.",
                    f"unknown time zone {value!r}; use e.g. Europe/Stockholm",
                )
            ) from None
        return value

    @field_validator("weekdays", "window_weekdays")
    @classmethod
    def _unique_days(cls, value: list[str]) -> list[str]:
        return sorted(set(value), key=WEEKDAY_NAMES.index)

    @model_validator(mode="after")
    def _consistent(self) -> ScheduleIn:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError(
                Text(
                    f"Slutdatumet (end_date) {self.end_date} är före startdatumet "
                    f"{self.start_date}. Välj ett slutdatum efter start.",
                    f"end_date {self.end_date} is before start_date {self.start_date}; "
                    "choose an end date after the start",
                )
            )
        if self.window_end <= self.window_start:
            raise ValueError(
                Text(
                    f"Fönstrets slut (window_end) {self.window_end} ska vara efter dess början "
                    f"(window_start) {self.window_start}.",
                    f"window_end {self.window_end} must be after window_start {self.window_start}",
                )
            )
        outside = sorted(set(self.weekdays) - set(self.window_weekdays), key=WEEKDAY_NAMES.index)
        if outside and not self.interval_minutes:
            days = ", ".join(outside)
            raise ValueError(
                Text(
                    f"Utskicksdagarna {days} ligger utanför fönstrets dagar. Lägg till dem i "
                    "window_weekdays.",
                    f"send days {days} are not window days; add them to window_weekdays",
                )
            )
        if not self.interval_minutes and not self.window_start <= self.time < self.window_end:
            raise ValueError(
                Text(
                    f"Tiden {self.time} ligger utanför utskicksfönstret "
                    f"{self.window_start}–{self.window_end}. Välj en tid inom fönstret.",
                    f"time {self.time} is outside the send window "
                    f"{self.window_start}-{self.window_end}; choose a time inside it",
                )
            )
        return self


LOCAL_HELP_DESCRIPTION = (
    "The municipality's own contacts in Markdown (social services, the local coordinator, the "
    "women's shelter), shown after the course's help in every e-mail and lesson page; phone "
    "numbers become tel: links. No HTML, images or headings above ###."
)


def _check_local_help(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.replace("\r\n", "\n").strip()
    problems = local_help_problems(value)
    if problems:
        raise ValueError("lokal hjälptext: " + "; ".join(problems))
    return value


class CampaignCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    course: str = Field(min_length=1, description="The course's slug, e.g. radikalisering.")
    audience: Audience = Field(default_factory=Audience)
    schedule: ScheduleIn
    desired_retention: float = Field(default=0.9, ge=0.7, le=0.97)
    max_reviews_per_email: int = Field(default=1, ge=0, le=2)
    retire_after: int = Field(
        default=2,
        ge=1,
        le=5,
        description="Right answers in a row on reviews that retire a question.",
    )
    owner_emails: list[EmailStr] = Field(default_factory=list, max_length=20)
    local_help: str = Field(
        default="", max_length=LOCAL_HELP_MAX, description=LOCAL_HELP_DESCRIPTION
    )

    _local_help = field_validator("local_help")(_check_local_help)


class CampaignPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    audience: Audience | None = None
    schedule: ScheduleIn | None = None
    desired_retention: float | None = Field(default=None, ge=0.7, le=0.97)
    max_reviews_per_email: int | None = Field(default=None, ge=0, le=2)
    retire_after: int | None = Field(default=None, ge=1, le=5)
    owner_emails: list[EmailStr] | None = Field(default=None, max_length=20)
    local_help: str | None = Field(
        default=None, max_length=LOCAL_HELP_MAX, description=LOCAL_HELP_DESCRIPTION
    )

    _local_help = field_validator("local_help")(_check_local_help)


HHMM = Annotated[dt.time, PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str)]


class ScheduleOut(BaseModel):
    start_date: date
    end_date: date | None
    weekdays: list[str]
    time: HHMM  # "08:30", as it is given
    timezone: str
    window_start: HHMM
    window_end: HHMM
    window_weekdays: list[str]
    interval_minutes: int | None


class CampaignCounts(BaseModel):
    enrolled: int
    sent: int
    failed: int
    pending: int
    answered: int
    opted_out: int
    bounced: int = 0  # accepted by the relay, then bounced (not counted in sent)


class CampaignOut(BaseModel):
    id: int
    name: str
    course: str
    status: CampaignStatus
    status_reason: str
    audience: Audience
    schedule: ScheduleOut
    desired_retention: float
    max_reviews_per_email: int
    retire_after: int
    owner_emails: list[str]
    local_help: str
    created_at: datetime
    started_at: datetime | None
    next_slot_at: datetime | None
    counts: CampaignCounts | None = None
    warnings: list[str] = Field(
        default_factory=list,
        description="When created or started: what the sending limits make of the coming "
        "weeks' slots (GET …/forecast has the details).",
    )


class TestSendIn(Strict):
    email: EmailStr
    lesson: str | None = Field(default=None, description="Lesson id; default the first lesson.")


class TestSendOut(BaseModel):
    sent_to: str
    message_id: str
