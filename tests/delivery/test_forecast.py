"""The forecast model (pure): how slots go out under limits, windows and daily caps."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.campaigns.schedule import Schedule
from app.delivery.forecast import AccountLimits, SlotLoad, forecast, number

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MONDAY_0900 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # 09:00 in Stockholm


def schedule(weekdays: frozenset[int] = frozenset({0})) -> Schedule:
    return Schedule(date(2026, 1, 5), None, weekdays, time(9, 0), STOCKHOLM)


def local(moment: datetime | None) -> str:
    assert moment is not None
    return f"{moment.astimezone(STOCKHOLM):%a %H:%M}"


def test_5000_at_30_a_minute_take_2_h_47_min_from_one_mailbox() -> None:
    (slot,) = forecast(
        schedule(), [SlotLoad(MONDAY_0900, 5000, 0)], [AccountLimits("m365", per_minute=30)]
    )
    assert slot.first_at == MONDAY_0900
    assert slot.last_at is not None
    assert slot.last_at - MONDAY_0900 == timedelta(minutes=166, seconds=40)  # 2 h 47 min
    assert slot.warnings == []


def test_three_mailboxes_send_20000_in_a_morning() -> None:
    accounts = [AccountLimits(f"m{i}", per_minute=30, per_day=10_000) for i in range(3)]
    (slot,) = forecast(schedule(), [SlotLoad(MONDAY_0900, 19_000, 1_000)], accounts)
    assert local(slot.last_at) == "Mon 12:42"  # 20 000 / 90 a minute = 3 h 42 min 13 s
    assert slot.warnings == []


def test_one_mailbox_cannot_serve_20000_in_a_day_and_says_what_to_do() -> None:
    accounts = [AccountLimits("m365", per_minute=30, per_day=10_000)]
    (slot,) = forecast(schedule(), [SlotLoad(MONDAY_0900, 12_000, 0)], accounts)
    assert slot.warnings[0] == (
        "12 000 e-post, kontot tillåter 10 000 per dygn: lägg till ett konto eller sprid "
        "mottagarna över två dagar"
    )
    assert "hinner inte klart inom sändfönstret 07:00–17:00" in slot.warnings[1]
    # 8 h at 30 a minute until 17:00 is 14 400 > 10 000: the daily limit stops it at 14:33,
    # the rest waits for the first sends to be 24 hours old, Tuesday 09:00.
    assert local(slot.last_at).startswith("Tue 10:")


def test_a_send_that_outlasts_the_window_resumes_when_it_opens_again() -> None:
    (slot,) = forecast(
        schedule(), [SlotLoad(MONDAY_0900, 1000, 0)], [AccountLimits("slow", per_hour=120)]
    )
    # 8 hours at 2 a minute until 17:00 is 960; the last 40 go Tuesday from 07:00.
    assert local(slot.last_at) == "Tue 07:20"
    assert any("sändfönstret" in w for w in slot.warnings)


def test_a_slot_not_done_before_the_next_one_is_warned_of() -> None:
    daily = schedule(frozenset(range(5)))
    loads = [SlotLoad(MONDAY_0900 + timedelta(days=d), 1000, 0) for d in range(2)]
    first, second = forecast(daily, loads, [AccountLimits("slow", per_hour=60)])
    # 60 an hour from 09:00 to 17:00 and Tuesday 07:00 to 09:00: 600 go, 400 are replaced.
    assert local(first.last_at) == "Tue 09:00"
    assert any("omkring 400 e-post har inte gått" in w for w in first.warnings)
    assert second.first_at == MONDAY_0900 + timedelta(days=1)  # the next slot starts on time


def test_what_was_sent_in_the_last_day_counts() -> None:
    sunday_evening = MONDAY_0900 - timedelta(hours=14)
    accounts = [AccountLimits("m", per_day=100, sent=((sunday_evening, 90),))]
    (slot,) = forecast(schedule(), [SlotLoad(MONDAY_0900, 30, 0)], accounts)
    # 10 go at 09:00; the other 20 when Sunday's 90 are a day old (Monday 19:00, after the
    # window): Tuesday when the window opens.
    assert local(slot.last_at) == "Tue 07:00"


def test_no_limits_and_no_mail() -> None:
    (slot,) = forecast(schedule(), [SlotLoad(MONDAY_0900, 0, 0)], [AccountLimits("free")])
    assert (slot.first_at, slot.last_at, slot.warnings) == (None, None, [])
    (slot,) = forecast(schedule(), [SlotLoad(MONDAY_0900, 600, 0)], [AccountLimits("free")])
    assert slot.last_at is not None and slot.last_at - MONDAY_0900 <= timedelta(minutes=1)


def test_numbers_are_written_as_in_swedish() -> None:
    assert [number(n) for n in (5, 12_000, 1_234_567)] == ["5", "12 000", "1 234 567"]
