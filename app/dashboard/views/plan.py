"""The page before a campaign starts (and while it runs): its timeline in words, the lessons to
preview, and what each status change does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignStatus
from app.campaigns.service import audience_size, schedule_of
from app.campaigns.timeline import plan_timeline
from app.dashboard.formatting import long_date, number, send_time
from app.lessons.models import Course
from app.lessons.service import get_course


@dataclass(frozen=True)
class LessonLink:
    key: str
    number: int
    title: str


@dataclass(frozen=True)
class TimelineRow:
    when: str
    what: str
    who: str
    review: bool


@dataclass(frozen=True)
class Plan:
    rows: list[TimelineRow]
    audience: str
    summary: str  # when the lessons end and the reviews begin
    warning: str  # the end date cuts the course short, or nobody is reached
    lessons: list[LessonLink]


def people(count: int) -> str:
    return f"{number(count)} {'person' if count == 1 else 'personer'}"


def lessons_of(session: Session, campaign: Campaign) -> tuple[str, list[LessonLink]]:
    slug = session.scalar(select(Course.slug).where(Course.id == campaign.course_id)) or ""
    detail = get_course(session, slug)
    if detail is None:
        return slug, []
    return slug, [
        LessonLink(item.lesson.key, number_, item.version.title)
        for number_, item in enumerate(detail.lessons, start=1)
    ]


def plan(session: Session, campaign: Campaign, now: datetime) -> Plan:
    """The timeline if the campaign started now (app.campaigns.timeline)."""
    _, lessons = lessons_of(session, campaign)
    schedule = schedule_of(campaign)
    timeline = plan_timeline(schedule, len(lessons), now)
    tz = ZoneInfo(campaign.timezone)
    today = now.astimezone(tz).date()
    reached = audience_size(session, campaign)
    rows = []
    for slot in timeline.slots:
        when = send_time(slot.at, tz, today)
        if slot.at_start:
            when = f"{when} (direkt vid start)"
        if slot.lesson is None:
            rows.append(
                TimelineRow(
                    when, "Bara repetitionsfrågor", "De som har en fråga att repetera", True
                )
            )
        else:
            lesson = lessons[slot.lesson - 1]
            rows.append(
                TimelineRow(when, f"Lektion {slot.lesson}: {lesson.title}", people(reached), False)
            )
    summary = ""
    if timeline.lessons_end is not None:
        summary = (
            f"Den sista lektionen går ut {long_date(timeline.lessons_end.astimezone(tz).date())}."
        )
        if timeline.reviews_from is not None:
            until = (
                f"till slutdatumet {long_date(campaign.end_date)}"
                if campaign.end_date
                else "tills varje fråga är inlärd"
            )
            summary += (
                f" Från {long_date(timeline.reviews_from.astimezone(tz).date())} innehåller "
                f"e-posten bara repetitionsfrågor, {until}."
            )
    warning = ""
    if not reached:
        warning = "Målgruppen når ingen just nu: ladda upp personallistan eller ändra målgruppen."
    elif timeline.cut_short:
        warning = (
            f"Slutdatumet kommer innan kursen är klar: bara {timeline.lessons_sent} av "
            f"{timeline.lessons} lektioner hinner skickas. Flytta slutdatumet eller lägg till dagar."
        )
    return Plan(rows, people(reached), summary, warning, lessons)


# What each change does, said before it is done (the consequences: app.delivery.lifecycle).
ACTIONS = {
    "start": (
        "Starta kampanjen",
        "Alla i målgruppen skrivs in och får den första lektionen vid nästa utskickstid. "
        "Du kan pausa när som helst.",
        "Ja, starta",
    ),
    "pause": (
        "Pausa kampanjen",
        "Inga fler e-postmeddelanden skickas. E-post som väntar på att skickas tas bort; när du "
        "fortsätter får alla nästa lektion, ingen hoppas över och ingen kommer två gånger.",
        "Ja, pausa",
    ),
    "resume": (
        "Fortsätt kampanjen",
        "Utskicken fortsätter vid nästa utskickstid, där kampanjen stannade.",
        "Ja, fortsätt",
    ),
    "cancel": (
        "Avbryt kampanjen",
        "Kampanjen avslutas för gott. Inget mer skickas, repetitionsfrågorna upphör och det går "
        "inte att starta den igen. Rapporterna finns kvar.",
        "Ja, avbryt för gott",
    ),
}
ALLOWED = {
    CampaignStatus.draft: ("start", "cancel"),
    CampaignStatus.running: ("pause", "cancel"),
    CampaignStatus.paused: ("resume", "cancel"),
}


def pause_reason(reason: str) -> tuple[str, str]:
    """Why a campaign paused itself, and what to do, in Swedish; ('', '') for none."""
    if not reason:
        return "", ""
    if "relay refuses to send for us" in reason:
        return (
            "Kampanjen pausades automatiskt: e-postservern vägrar skicka åt Nanolearn.",
            "Be den som sköter Nanolearn kontrollera avsändaradressen och inloggningen till "
            "e-postservern. Fortsätt sedan kampanjen.",
        )
    if "e-mails were refused" in reason:
        return (
            "Kampanjen pausades automatiskt: för många e-postmeddelanden nekades.",
            "Kontrollera att adresserna i personallistan stämmer, och be den som sköter "
            "Nanolearn titta på e-postservern. Fortsätt sedan kampanjen.",
        )
    return "Kampanjen har stannat.", ""
