"""The campaign form: what was typed (kept on errors), the choices it offers, and the body the
API would get. Validation is the API's (CampaignCreate, CampaignPatch, the service's checks);
this only puts each error next to its field, in Swedish."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.campaigns.models import Campaign
from app.campaigns.schedule import WEEKDAY_NAMES, weekday_names
from app.campaigns.schemas import WORKWEEK
from app.campaigns.service import department_sizes
from app.core.i18n import in_language
from app.dashboard.formatting import number
from app.dashboard.forms import FieldErrors, field_text, validation_errors
from app.lessons.service import list_courses

_DAY_NAMES = ("Måndag", "Tisdag", "Onsdag", "Torsdag", "Fredag", "Lördag", "Söndag")
WEEKDAYS = dict(zip(WEEKDAY_NAMES, _DAY_NAMES, strict=True))
TIMEZONES = (
    "Europe/Stockholm",
    "Europe/Helsinki",
    "Europe/Oslo",
    "Europe/Copenhagen",
    "Europe/Berlin",
    "Europe/London",
    "UTC",
)
REVIEWS = {"0": "Inga", "1": "En fråga", "2": "Två frågor"}
# Where each schema error belongs: the longest matching location wins.
FIELDS: dict[tuple[str | int, ...], str] = {
    ("name",): "name",
    ("course",): "course",
    ("audience",): "departments",
    ("schedule", "start_date"): "start_date",
    ("schedule", "end_date"): "end_date",
    ("schedule", "weekdays"): "weekdays",
    ("schedule", "time"): "time",
    ("schedule", "timezone"): "timezone",
    ("schedule", "window_start"): "window_start",
    ("schedule", "window_end"): "window_end",
    ("schedule", "window_weekdays"): "window_weekdays",
    ("schedule",): "schedule",
    ("desired_retention",): "desired_retention",
    ("max_reviews_per_email",): "max_reviews_per_email",
    ("owner_emails",): "owner_emails",
}
# The schedule's own checks (ScheduleIn._consistent), by words of their English message.
_SCHEDULE_RULES = (
    ("is before start_date", "end_date", "Slutdatumet ligger före startdatumet."),
    ("must be after window_start", "window_end", "Fönstret måste sluta senare än det börjar."),
    (
        "are not window days",
        "window_weekdays",
        "Alla utskicksdagar måste vara dagar då e-post får skickas. Kryssa i dem här också.",
    ),
    (
        "is outside the send window",
        "time",
        "Tiden ligger utanför utskicksfönstret. Välj en tid inom fönstret.",
    ),
    ("unknown time zone", "timezone", "Okänd tidszon. Välj en i listan."),
)
_SPLIT = re.compile(r"[\s,;]+")


@dataclass
class CampaignForm:
    name: str = ""
    course: str = ""
    departments: list[str] = field(default_factory=list)
    weekdays: list[str] = field(default_factory=lambda: ["tue", "thu"])
    time: str = "08:00"
    start_date: str = ""
    end_date: str = ""
    window_start: str = "07:00"
    window_end: str = "17:00"
    window_weekdays: list[str] = field(default_factory=lambda: list(WORKWEEK))
    timezone: str = "Europe/Stockholm"
    max_reviews_per_email: str = "1"
    desired_retention: str = "90"  # per cent
    owner_emails: str = ""

    @classmethod
    def posted(cls, form: FormData) -> CampaignForm:
        def text(name: str) -> str:
            return field_text(str(form.get(name, "")))[:1000]

        def many(name: str) -> list[str]:
            return [v for v in form.getlist(name) if isinstance(v, str)][:100]

        return cls(
            name=text("name"),
            course=text("course"),
            departments=many("departments"),
            weekdays=many("weekdays"),
            time=text("time"),
            start_date=text("start_date"),
            end_date=text("end_date"),
            window_start=text("window_start"),
            window_end=text("window_end"),
            window_weekdays=many("window_weekdays"),
            timezone=text("timezone"),
            max_reviews_per_email=text("max_reviews_per_email"),
            desired_retention=text("desired_retention"),
            owner_emails=text("owner_emails"),
        )

    @classmethod
    def of(cls, campaign: Campaign, course: str) -> CampaignForm:
        return cls(
            name=campaign.name,
            course=course,
            departments=list(campaign.departments),
            weekdays=weekday_names(list(campaign.weekdays)),
            time=f"{campaign.send_time:%H:%M}",
            start_date=campaign.start_date.isoformat(),
            end_date=campaign.end_date.isoformat() if campaign.end_date else "",
            window_start=f"{campaign.window_start:%H:%M}",
            window_end=f"{campaign.window_end:%H:%M}",
            window_weekdays=weekday_names(list(campaign.window_weekdays)),
            timezone=campaign.timezone,
            max_reviews_per_email=str(campaign.max_reviews_per_email),
            desired_retention=str(round(campaign.desired_retention * 100)),
            owner_emails="\n".join(campaign.owner_emails),
        )

    def body(self) -> tuple[dict[str, Any], FieldErrors]:
        """The API's JSON body, and errors in what cannot be put into it (numbers)."""
        errors: FieldErrors = {}
        retention: float | str = self.desired_retention
        try:
            retention = round(float(self.desired_retention.replace(",", ".")) / 100, 4)
        except ValueError:
            errors["desired_retention"] = "Skriv ett tal mellan 70 och 97."
        schedule: dict[str, Any] = {
            "start_date": self.start_date or None,
            "weekdays": self.weekdays,
            "time": self.time,
            "timezone": self.timezone,
            "end_date": self.end_date or None,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "window_weekdays": self.window_weekdays,
        }
        return {
            "name": self.name,
            "course": self.course,
            "audience": {"departments": self.departments},
            "schedule": schedule,
            "desired_retention": retention,
            "max_reviews_per_email": self.max_reviews_per_email,
            "owner_emails": [e for e in _SPLIT.split(self.owner_emails) if e],
        }, errors


def form_errors(exc: ValidationError) -> FieldErrors:
    """The schema's errors under their fields; the schedule's cross-field rules explained."""
    errors = validation_errors(exc, FIELDS)
    for error in exc.errors():
        if tuple(error["loc"])[:1] != ("schedule",) or error["type"] != "value_error":
            continue
        # Matched on the English wording, which carries no values in front of the rule.
        raw = error.get("ctx", {}).get("error", error["msg"])
        message = in_language(
            raw.args[0] if isinstance(raw, ValueError) and raw.args else raw, "en"
        )
        for start, name, text in _SCHEDULE_RULES:
            if start in message:
                errors[name] = text
                break
    if "desired_retention" in errors:
        errors["desired_retention"] = "Skriv ett tal mellan 70 och 97."
    if "max_reviews_per_email" in errors:
        errors["max_reviews_per_email"] = "Välj 0, 1 eller 2."
    if "owner_emails" in errors:
        errors["owner_emails"] = (
            "En av adresserna är inte en e-postadress. Skriv en adress per rad, "
            "t.ex. anna.lind@kommun.se."
        )
    errors.pop("schedule", None)  # every schedule rule has a field above
    return errors


@dataclass(frozen=True)
class Choices:
    courses: list[tuple[str, str]]  # (slug, "Title (12 lektioner)")
    departments: list[tuple[str, str]]  # (name, "name (9 personer)")
    weekdays: dict[str, str]
    timezones: list[str]
    reviews: dict[str, str]


def choices(session: Session, form: CampaignForm) -> Choices:
    sizes = department_sizes(session)
    for gone in form.departments:
        sizes.setdefault(gone, 0)  # chosen before, no one there now: still shown, and counted 0
    zones = list(TIMEZONES)
    if form.timezone and form.timezone not in zones:
        zones.append(form.timezone)
    return Choices(
        courses=[
            (c.course.slug, f"{c.course.title} ({c.lesson_count} lektioner)")
            for c in list_courses(session)
        ],
        departments=[
            (d, f"{d} ({number(n)} {'person' if n == 1 else 'personer'})")
            for d, n in sorted(sizes.items())
        ],
        weekdays=WEEKDAYS,
        timezones=zones,
        reviews=REVIEWS,
    )
