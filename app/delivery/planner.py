"""The planner: for each running campaign's current send slot, write one outbox row per e-mail.

Each slot is planned once (Campaign.planned_slot_at). The next lesson for a person is derived
from the outbox itself (the first lesson in course order not yet in their outbox), so pausing —
which drops unsent rows — can never skip or repeat a lesson, nor can a course that gains or
loses a lesson while the campaign runs. Unsent rows of an earlier slot are superseded
by the new slot: nobody gets two e-mails because the service was down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignStatus, Enrollment, EnrollmentStatus
from app.campaigns.service import enroll_audience, schedule_of
from app.delivery.lifecycle import change_status
from app.employees.models import Employee
from app.learning.service import due_cards, make_cards_for_sent_lessons, mark_offered
from app.lessons.models import Lesson
from app.outbox.models import Delivery, DeliveryStatus
from app.outbox.state import drop_pending

log = logging.getLogger(__name__)


@dataclass
class PlanReport:
    campaigns: int = 0
    planned: int = 0
    enrolled: int = 0
    finished: list[int] = field(default_factory=list)


def plan_due(session: Session, now: datetime) -> PlanReport:
    """Plan every running campaign whose latest slot has not been planned yet."""
    report = PlanReport()
    campaigns = session.scalars(
        select(Campaign).where(Campaign.status == CampaignStatus.running).order_by(Campaign.id)
    ).all()
    for campaign in campaigns:
        schedule = schedule_of(campaign)
        if schedule.ended(now):
            change_status(session, campaign, "finish", now, reason="The end date has passed.")
            report.finished.append(campaign.id)
            continue
        slot = schedule.latest_slot(now)
        if slot is None or (
            campaign.planned_slot_at is not None and slot <= campaign.planned_slot_at
        ):
            continue
        report.campaigns += 1
        report.enrolled += enroll_audience(session, campaign, now)
        report.planned += plan_slot(session, campaign, slot, now)
        campaign.planned_slot_at = slot
    return report


def plan_slot(session: Session, campaign: Campaign, slot: datetime, now: datetime) -> int:
    """Write the outbox rows for one slot; returns how many e-mails were planned."""
    drop_pending(session, campaign.id, before=slot)
    schedule = schedule_of(campaign)
    # Planned late (service was down)? Send now if still inside the window, else when it opens;
    # but when that day has a slot of its own, that slot carries the lesson: no double e-mail.
    due_at = schedule.window_opening(now)
    if due_at > now and schedule.sends_on(due_at.astimezone(schedule.tz).date()):
        log.info("campaign %s: slot %s missed; its lesson goes at the next slot", campaign.id, slot)
        return 0
    make_cards_for_sent_lessons(session, campaign.id)
    hashes = dict(
        session.execute(
            select(Lesson.id, Lesson.content_hash).where(
                Lesson.course_id == campaign.course_id, Lesson.position.is_not(None)
            )
        ).all()
    )
    reviews = due_cards(session, campaign.id, slot, campaign.max_reviews_per_email)
    rows: list[dict[str, Any]] = []
    for enrollment_id, next_lesson in _recipients(session, campaign, slot):
        cards = reviews.get(enrollment_id, [])
        lesson = (next_lesson, hashes[next_lesson]) if next_lesson is not None else None
        if lesson is None and not cards:
            continue  # course done and nothing due: no e-mail
        rows.append(
            {
                "campaign_id": campaign.id,
                "enrollment_id": enrollment_id,
                "slot_at": slot,
                "due_at": due_at,
                "lesson_id": lesson[0] if lesson else None,
                "lesson_hash": lesson[1] if lesson else None,
                "review_items": [{"lesson_id": c.lesson_id, "hash": c.lesson_hash} for c in cards],
                "status": DeliveryStatus.pending,
                "attempts": 0,
                "created_at": now,
            }
        )
    delivery_of: dict[int, int] = {}
    for start in range(0, len(rows), 5000):
        inserted = session.execute(
            insert(Delivery).returning(Delivery.id, Delivery.enrollment_id),
            rows[start : start + 5000],
        )
        delivery_of.update({enrollment_id: delivery_id for delivery_id, enrollment_id in inserted})
    mark_offered(
        session,
        [
            (card, delivery_of[eid])
            for eid, cards in reviews.items()
            if eid in delivery_of
            for card in cards
        ],
        slot,
    )
    log.info(
        "campaign %s: planned %d e-mails for slot %s", campaign.id, len(rows), slot.isoformat()
    )
    return len(rows)


def _recipients(
    session: Session, campaign: Campaign, slot: datetime
) -> list[tuple[int, int | None]]:
    """(enrollment id, their next lesson or None) for everyone who should get this slot."""
    had = (
        select(Delivery.id)
        .where(Delivery.enrollment_id == Enrollment.id, Delivery.lesson_id == Lesson.id)
        .correlate(Enrollment, Lesson)
    )
    next_lesson = (
        select(Lesson.id)
        .where(Lesson.course_id == campaign.course_id, Lesson.position.is_not(None), ~had.exists())
        .order_by(Lesson.position)
        .limit(1)
        .correlate(Enrollment)
        .scalar_subquery()
    )
    campaign_id = campaign.id
    has_slot = select(Delivery.id).where(
        Delivery.enrollment_id == Enrollment.id, Delivery.slot_at == slot
    )
    rows = session.execute(
        select(Enrollment.id, next_lesson)
        .join(Employee, Employee.id == Enrollment.employee_id)
        .where(
            Enrollment.campaign_id == campaign_id,
            Enrollment.status == EnrollmentStatus.active,
            Employee.active.is_(True),
            ~has_slot.exists(),
        )
        .order_by(Enrollment.id)
    ).all()
    return [(int(r[0]), None if r[1] is None else int(r[1])) for r in rows]
