"""A campaign's plan before it starts: which lesson goes out at which slot, and when the course's
lessons end and review-only e-mails begin. Pure: the weekly slots of `schedule.py` and the
course's lesson count in, the plan out.

This is the plan for people enrolled at the start, as the planner sends it: the n-th slot
carries lesson n to everyone who has had n - 1 lessons. After the last lesson the slots carry
only questions that come back for review, to those who have one due, until the end date (or,
without one, until every question has retired).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.campaigns.schedule import Schedule

_TICK = timedelta(microseconds=1)
REVIEW_SLOTS_SHOWN = 3  # review-only slots listed after the last lesson; the rest is summed up


@dataclass(frozen=True)
class PlannedSlot:
    at: datetime  # UTC
    lesson: int | None  # 1-based lesson number; None: review questions only
    at_start: bool = False  # a slot already passed: sent as soon as the campaign starts


@dataclass(frozen=True)
class Timeline:
    slots: list[PlannedSlot]
    lessons: int  # the course's lessons
    lessons_sent: int  # lessons that fit before the end date
    lessons_end: datetime | None  # the slot of the last lesson that goes out
    reviews_from: datetime | None  # the first review-only slot, if any comes
    more_review_slots: bool  # review-only slots follow those listed

    @property
    def cut_short(self) -> bool:
        """The end date comes before every lesson has gone out."""
        return self.lessons_sent < self.lessons


def plan_timeline(
    schedule: Schedule, lessons: int, now: datetime, review_slots: int = REVIEW_SLOTS_SHOWN
) -> Timeline:
    """The slots from the later of `now` and the start date, lessons first, then reviews.

    Bounded: at most `lessons + review_slots + 1` slots are computed.
    """
    slots: list[PlannedSlot] = []
    # Started after a slot of the schedule (e.g. at 09.00 on a send day at 08.00, or after the
    # start date): the planner plans that latest slot at once and sends it now, or when the
    # send window opens, unless that day has a slot of its own (app/delivery/planner.plan_slot).
    latest = schedule.latest_slot(now)
    if latest is not None and lessons > 0:
        due = schedule.window_opening(now)
        if due <= now or not schedule.sends_on(due.astimezone(schedule.tz).date()):
            slots.append(PlannedSlot(due, 1, at_start=True))
    # A slot exactly now is still to come: the planner plans it at its next tick.
    at = schedule.next_slot(now - _TICK if latest != now else now)
    while at is not None and len(slots) < lessons:
        slots.append(PlannedSlot(at, len(slots) + 1))
        at = schedule.next_slot(at)
    lessons_sent = len(slots)
    lessons_end = slots[-1].at if slots else None
    reviews: list[PlannedSlot] = []
    while at is not None and len(reviews) < review_slots:
        reviews.append(PlannedSlot(at, None))
        at = schedule.next_slot(at)
    return Timeline(
        slots=slots + reviews,
        lessons=lessons,
        lessons_sent=lessons_sent,
        lessons_end=lessons_end,
        reviews_from=reviews[0].at if reviews else None,
        more_review_slots=at is not None,
    )
