"""Campaigns: a course sent to an audience on a schedule. Services flush, never commit."""

from __future__ import annotations

import difflib
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, literal, select
from sqlalchemy.orm import Session

from app.auth.audit import record_audit
from app.auth.models import ApiKey
from app.campaigns.models import Campaign, CampaignStatus, Enrollment, EnrollmentStatus
from app.campaigns.schedule import Schedule, parse_weekdays, weekday_names
from app.campaigns.schemas import (
    Audience,
    CampaignCounts,
    CampaignCreate,
    CampaignOut,
    CampaignPatch,
    ScheduleIn,
    ScheduleOut,
)
from app.core.errors import ProblemError
from app.core.i18n import Text
from app.employees.models import Employee
from app.lessons.models import Course, Lesson

# Which actions each status allows; anything else is a 409 that says what is possible.
TRANSITIONS: dict[str, tuple[set[CampaignStatus], CampaignStatus]] = {
    "start": ({CampaignStatus.draft}, CampaignStatus.running),
    "pause": ({CampaignStatus.running}, CampaignStatus.paused),
    "resume": ({CampaignStatus.paused}, CampaignStatus.running),
    "cancel": (
        {CampaignStatus.draft, CampaignStatus.running, CampaignStatus.paused},
        CampaignStatus.cancelled,
    ),
    # The planner, when the last slot has passed and every question has retired.
    "finish": ({CampaignStatus.running}, CampaignStatus.finished),
}


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def schedule_of(campaign: Campaign) -> Schedule:
    return Schedule(
        start_date=campaign.start_date,
        end_date=campaign.end_date,
        weekdays=frozenset(campaign.weekdays),
        send_time=campaign.send_time,
        tz=ZoneInfo(campaign.timezone),
        window_start=campaign.window_start,
        window_end=campaign.window_end,
        window_days=frozenset(campaign.window_weekdays),
        interval_minutes=campaign.interval_minutes,
    )


def _course_by_slug(session: Session, slug: str) -> Course:
    course = session.scalar(select(Course).where(Course.slug == slug))
    if course is None:
        known = ", ".join(session.scalars(select(Course.slug).order_by(Course.slug)))
        message = Text(
            f"Kursen ”{slug}” finns inte. Välj en av: {known or 'inga, kör nanolearn lessons sync'}.",
            f"There is no course “{slug}”. Choose one of: {known or 'none, run nanolearn lessons sync'}.",
        )
        raise ProblemError(
            422,
            Text("Okänd kurs", "Unknown course"),
            Text(f"course: {message}", f"course: {message.en}"),
            errors=[{"field": "course", "message": message}],
        )
    return course


def _apply_schedule(campaign: Campaign, schedule: ScheduleIn) -> None:
    campaign.start_date = schedule.start_date
    campaign.end_date = schedule.end_date
    campaign.weekdays = sorted(parse_weekdays(list(schedule.weekdays)))
    campaign.send_time = _hhmm(schedule.time)
    campaign.timezone = schedule.timezone
    campaign.window_start = _hhmm(schedule.window_start)
    campaign.window_end = _hhmm(schedule.window_end)
    campaign.window_weekdays = sorted(parse_weekdays(list(schedule.window_weekdays)))
    campaign.interval_minutes = schedule.interval_minutes


def department_sizes(session: Session) -> dict[str, int]:
    """Active people per department, for picking an audience: {department: head count}."""
    rows = session.execute(
        select(Employee.department, func.count())
        .where(Employee.active.is_(True), Employee.erased_at.is_(None))
        .where(Employee.department.is_not(None), Employee.department != "")
        .group_by(Employee.department)
        .order_by(Employee.department)
    ).all()
    return {str(d): int(n) for d, n in rows}


def _known_departments(session: Session, wanted: list[str]) -> list[str]:
    """`wanted`, deduplicated and sorted, or a 422 naming each unknown one and the known ones."""
    sizes = department_sizes(session)
    unknown = [d for d in dict.fromkeys(wanted) if d not in sizes]
    if unknown:
        listed = ", ".join(f"{d} ({n})" for d, n in sizes.items())
        errors = []
        for d in unknown:
            close = difflib.get_close_matches(d, list(sizes), n=1, cutoff=0.6)
            errors.append(
                {
                    "field": "audience.departments",
                    "message": Text(
                        f"okänd förvaltning ”{d}”."
                        + (f" Menade du ”{close[0]}”?" if close else ""),
                        f"unknown department “{d}”."
                        + (f" Did you mean “{close[0]}”?" if close else ""),
                    ),
                }
            )
        names = ", ".join(f"”{d}”" for d in unknown)
        names_en = ", ".join(f"“{d}”" for d in unknown)
        raise ProblemError(
            422,
            Text("Okänd förvaltning", "Unknown department"),
            Text(
                f"audience.departments: ingen aktiv anställd har förvaltningen {names}. Kända "
                f"förvaltningar (antal personer): {listed or 'inga än: importera personallistan först'}. "
                "Skriv namnet som i personallistan, eller lämna listan tom för alla.",
                f"audience.departments: no active employee has the department {names_en}. Known "
                f"departments (people): {listed or 'none yet: import the staff list first'}. "
                "Write the name as in the staff list, or leave the list empty for everyone.",
            ),
            errors=errors,
        )
    return sorted(set(wanted))


def audience_size(session: Session, campaign: Campaign) -> int:
    """Active people the campaign would reach now (its departments, or everyone)."""
    query = select(func.count()).where(
        Employee.active.is_(True), Employee.erased_at.is_(None), Employee.email.is_not(None)
    )
    if campaign.departments:
        query = query.where(Employee.department.in_(campaign.departments))
    return int(session.scalar(query) or 0)


def create_campaign(session: Session, body: CampaignCreate, now: datetime) -> Campaign:
    course = _course_by_slug(session, body.course)
    departments = _known_departments(session, list(body.audience.departments))
    campaign = Campaign(
        name=body.name,
        course_id=course.id,
        status=CampaignStatus.draft,
        status_reason="",
        departments=departments,
        desired_retention=body.desired_retention,
        max_reviews_per_email=body.max_reviews_per_email,
        retire_after=body.retire_after,
        owner_emails=[str(e).lower() for e in body.owner_emails],
        local_help=body.local_help,
        created_at=now,
        updated_at=now,
    )
    _apply_schedule(campaign, body.schedule)
    session.add(campaign)
    session.flush()
    return campaign


def get_campaign(session: Session, campaign_id: int, *, parameter: str | None = None) -> Campaign:
    """The campaign, or a 404 problem; `parameter` names the query parameter that gave the id."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        detail = Text(
            f"Det finns ingen kampanj med id {campaign_id}. GET /api/v1/campaigns visar dem.",
            f"There is no campaign with id {campaign_id}. GET /api/v1/campaigns lists them.",
        )
        if parameter is None:
            raise ProblemError(404, "Not Found", detail)
        message = Text(f"okänd kampanj {campaign_id}", f"unknown campaign {campaign_id}")
        raise ProblemError(
            404, "Not Found", detail, errors=[{"field": parameter, "message": message}]
        )
    return campaign


def list_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))


def update_campaign(
    session: Session, campaign: Campaign, patch: CampaignPatch, now: datetime
) -> None:
    if campaign.status in (CampaignStatus.cancelled, CampaignStatus.finished):
        word = CampaignStatus(campaign.status).swedish.lower()
        raise ProblemError(
            409,
            "Conflict",
            Text(
                f"Kampanjen är {word} och kan inte ändras. Skapa en ny kampanj i stället.",
                f"The campaign is {campaign.status}; it cannot change. Create a new one instead.",
            ),
        )
    if patch.name is not None:
        campaign.name = patch.name
    if patch.audience is not None:
        campaign.departments = _known_departments(session, list(patch.audience.departments))
    if patch.schedule is not None:
        _apply_schedule(campaign, patch.schedule)
    if patch.desired_retention is not None:
        campaign.desired_retention = patch.desired_retention
    if patch.max_reviews_per_email is not None:
        campaign.max_reviews_per_email = patch.max_reviews_per_email
    if patch.retire_after is not None:
        campaign.retire_after = patch.retire_after
    if patch.owner_emails is not None:
        campaign.owner_emails = [str(e).lower() for e in patch.owner_emails]
    if patch.local_help is not None:
        campaign.local_help = patch.local_help
    campaign.updated_at = now


def transition(
    session: Session, campaign: Campaign, action: str, now: datetime, reason: str = ""
) -> None:
    """The campaign state machine: the one place a campaign's status changes. Its consequences
    for the outbox and the review cards are added by app.delivery.lifecycle.change_status."""
    allowed, target = TRANSITIONS[action]
    if campaign.status not in allowed:
        possible = [a for a, (src, _) in TRANSITIONS.items() if campaign.status in src]
        hint = f"; possible now: {', '.join(possible)}" if possible else ""
        hint_sv = f" Det som går nu: {', '.join(possible)}." if possible else ""
        word = CampaignStatus(campaign.status).swedish.lower()
        raise ProblemError(
            409,
            "Conflict",
            Text(
                f"Det går inte att göra {action} på en kampanj som är {word}.{hint_sv}",
                f"Cannot {action} a campaign that is {campaign.status}{hint}",
            ),
        )
    if action == "start":
        lessons = session.scalar(
            select(func.count()).where(
                Lesson.course_id == campaign.course_id, Lesson.position.is_not(None)
            )
        )
        if not lessons:
            raise ProblemError(
                409,
                "Conflict",
                Text(
                    "Kursen har inga lektioner. Läs in dem först: nanolearn lessons sync",
                    "The course has no lessons; sync the lessons first: nanolearn lessons sync",
                ),
            )
        if not audience_size(session, campaign):
            who = ", ".join(campaign.departments) or "hela organisationen"
            raise ProblemError(
                409,
                Text("Kampanjen når ingen", "The campaign reaches no one"),
                Text(
                    f"Ingen aktiv anställd med e-postadress finns i målgruppen ({who}). "
                    "Importera personallistan eller ändra målgruppen, och starta sedan igen.",
                    "No active employee with an e-mail address is in the audience "
                    f"({', '.join(campaign.departments) or 'everyone'}). Import the staff list "
                    "or change the audience, then start again.",
                ),
            )
        campaign.started_at = now
        enroll_audience(session, campaign, now)
    if action == "resume":
        campaign.planned_slot_at = None  # plan the current slot again for those who missed it
    campaign.status = target
    campaign.status_reason = reason
    campaign.updated_at = now


def enroll_audience(session: Session, campaign: Campaign, now: datetime) -> int:
    """Enroll every active employee of the audience not yet enrolled (one INSERT … SELECT)."""
    already = select(Enrollment.id).where(
        Enrollment.campaign_id == campaign.id, Enrollment.employee_id == Employee.id
    )
    audience = select(
        literal(campaign.id),
        Employee.id,
        literal(EnrollmentStatus.active.value),
        literal(now, type_=Enrollment.__table__.c.enrolled_at.type),
    ).where(Employee.active.is_(True), Employee.erased_at.is_(None), ~already.exists())
    if campaign.departments:
        audience = audience.where(Employee.department.in_(campaign.departments))
    result = session.execute(
        insert(Enrollment).from_select(
            ["campaign_id", "employee_id", "status", "enrolled_at"], audience
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def to_out(
    session: Session, campaign: Campaign, now: datetime, counts: CampaignCounts | None
) -> CampaignOut:
    course_slug = session.scalar(select(Course.slug).where(Course.id == campaign.course_id))
    schedule = schedule_of(campaign)
    running = campaign.status in (
        CampaignStatus.running,
        CampaignStatus.draft,
        CampaignStatus.paused,
    )
    data: dict[str, Any] = {
        "id": campaign.id,
        "name": campaign.name,
        "course": course_slug or "",
        "status": campaign.status,
        "status_reason": campaign.status_reason,
        "audience": Audience(departments=list(campaign.departments)),
        "schedule": ScheduleOut(
            start_date=campaign.start_date,
            end_date=campaign.end_date,
            weekdays=weekday_names(list(campaign.weekdays)),
            time=campaign.send_time,
            timezone=campaign.timezone,
            window_start=campaign.window_start,
            window_end=campaign.window_end,
            window_weekdays=weekday_names(list(campaign.window_weekdays)),
            interval_minutes=campaign.interval_minutes,
        ),
        "desired_retention": campaign.desired_retention,
        "max_reviews_per_email": campaign.max_reviews_per_email,
        "retire_after": campaign.retire_after,
        "owner_emails": list(campaign.owner_emails),
        "local_help": campaign.local_help,
        "created_at": campaign.created_at,
        "started_at": campaign.started_at,
        "next_slot_at": schedule.next_slot(now) if running else None,
        "counts": counts,
    }
    return CampaignOut(**data)


def audit_change(
    session: Session,
    actor: ApiKey | str,
    action: str,
    campaign_id: int,
    now: datetime,
    *,
    rows: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """The audit entry of a change made through the API or the dashboard: campaigns.<action>.
    `detail` holds ids and field names, never addresses."""
    record_audit(
        session,
        actor=actor,
        action=f"campaigns.{action}",
        now=now,
        target=f"campaign {campaign_id}",
        rows=rows,
        detail=detail,
    )
