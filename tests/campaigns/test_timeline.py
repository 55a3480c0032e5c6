"""The plan shown before a campaign starts: lesson n at the n-th slot, then review-only slots."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from app.campaigns.schedule import Schedule
from app.campaigns.timeline import plan_timeline
from tests.campaigns.test_schedule import STOCKHOLM, weekly

MONDAY = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # 06.00 in Stockholm, before the first slot


def local(moment: datetime) -> tuple[date, int]:
    at = moment.astimezone(STOCKHOLM)
    return at.date(), at.hour


def test_one_lesson_per_slot_then_reviews() -> None:
    plan = plan_timeline(weekly(), lessons=4, now=MONDAY, review_slots=2)
    assert [s.lesson for s in plan.slots] == [1, 2, 3, 4, None, None]
    assert [local(s.at)[0] for s in plan.slots] == [
        date(2026, 3, 3),
        date(2026, 3, 5),
        date(2026, 3, 10),
        date(2026, 3, 12),
        date(2026, 3, 17),
        date(2026, 3, 19),
    ]
    assert all(local(s.at)[1] == 8 for s in plan.slots)
    assert plan.lessons_end == plan.slots[3].at and plan.reviews_from == plan.slots[4].at
    assert plan.more_review_slots and not plan.cut_short
    assert not any(s.at_start for s in plan.slots)


def test_the_end_date_cuts_the_course_short() -> None:
    plan = plan_timeline(weekly(end_date=date(2026, 3, 10)), lessons=5, now=MONDAY)
    assert [s.lesson for s in plan.slots] == [1, 2, 3]
    assert plan.cut_short and plan.lessons_sent == 3
    assert plan.reviews_from is None and not plan.more_review_slots


def test_a_start_date_in_the_future_waits_for_it() -> None:
    plan = plan_timeline(weekly(start_date=date(2026, 4, 1)), lessons=1, now=MONDAY)
    assert local(plan.slots[0].at) == (date(2026, 4, 2), 8)  # the first Thursday after


def test_started_after_todays_slot_sends_the_first_lesson_at_once() -> None:
    tuesday_nine = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # 09.00, the 08.00 slot has passed
    plan = plan_timeline(weekly(), lessons=2, now=tuesday_nine, review_slots=0)
    assert plan.slots[0].at_start and plan.slots[0].at == tuesday_nine
    assert plan.slots[0].lesson == 1
    assert (plan.slots[1].lesson, local(plan.slots[1].at)) == (2, (date(2026, 3, 5), 8))


def test_after_the_window_the_passed_slot_waits_for_the_next_send_day() -> None:
    # Tuesday 18.00: the window (07-17) has closed; Wednesday opens at 07.00 with no slot of
    # its own, so the lesson goes then; Thursday's slot carries lesson 2.
    evening = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)
    plan = plan_timeline(weekly(), lessons=2, now=evening, review_slots=0)
    assert plan.slots[0].at_start and local(plan.slots[0].at) == (date(2026, 3, 4), 7)
    assert local(plan.slots[1].at) == (date(2026, 3, 5), 8)


def test_a_slot_exactly_now_is_counted_once() -> None:
    at_slot = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)  # Tuesday 08.00
    plan = plan_timeline(weekly(), lessons=2, now=at_slot, review_slots=0)
    assert plan.slots[0].at == at_slot
    assert len({s.at for s in plan.slots}) == 2


def test_demo_schedules_every_few_minutes() -> None:
    demo = Schedule(
        start_date=date(2026, 3, 2),
        end_date=None,
        weekdays=frozenset(range(7)),
        send_time=time(6, 0),
        tz=STOCKHOLM,
        interval_minutes=10,
    )
    plan = plan_timeline(demo, lessons=3, now=MONDAY, review_slots=1)
    assert [s.lesson for s in plan.slots] == [1, 2, 3, None]
    steps = {
        (b.at - a.at).total_seconds() for a, b in zip(plan.slots[1:], plan.slots[2:], strict=False)
    }
    assert steps == {600}


def test_a_course_without_lessons_plans_only_reviews_and_is_bounded() -> None:
    plan = plan_timeline(weekly(), lessons=0, now=MONDAY, review_slots=2)
    assert [s.lesson for s in plan.slots] == [None, None]
    assert plan.lessons_end is None
