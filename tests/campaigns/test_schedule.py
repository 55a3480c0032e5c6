from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.campaigns.schedule import Schedule

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def weekly(**kw: object) -> Schedule:
    values: dict = {
        "start_date": date(2026, 3, 2),
        "end_date": None,
        "weekdays": frozenset({1, 3}),  # Tuesday, Thursday
        "send_time": time(8, 0),
        "tz": STOCKHOLM,
    }
    values.update(kw)
    return Schedule(**values)


def test_slots_stay_at_local_time_across_daylight_saving() -> None:
    s = weekly()
    slots, at = [], datetime(2026, 3, 1, tzinfo=UTC)
    for _ in range(10):
        nxt = s.next_slot(at)
        assert nxt is not None
        slots.append(nxt)
        at = nxt
    local = [x.astimezone(STOCKHOLM) for x in slots]
    assert all(x.hour == 8 and x.minute == 0 for x in local)
    # Summer time starts on 29 March 2026: the UTC hour moves, the local hour does not.
    assert slots[0].hour == 7 and slots[-1].hour == 6
    assert [x.weekday() for x in local] == [1, 3] * 5


def test_autumn_change_and_latest_slot() -> None:
    s = weekly(start_date=date(2026, 10, 20))
    tuesday = s.latest_slot(datetime(2026, 10, 27, 12, 0, tzinfo=UTC))
    assert tuesday == datetime(2026, 10, 27, 7, 0, tzinfo=UTC)  # 08:00 CET after 25 October
    assert s.latest_slot(datetime(2026, 10, 19, tzinfo=UTC)) is None  # before the start


def test_end_date_ends_the_schedule() -> None:
    s = weekly(end_date=date(2026, 3, 5))
    assert s.next_slot(datetime(2026, 3, 5, 12, 0, tzinfo=UTC)) is None
    assert s.ended(datetime(2026, 3, 6, 0, 0, tzinfo=UTC))


def test_window_opening_never_at_night() -> None:
    s = weekly()
    evening = datetime(2026, 3, 3, 19, 0, tzinfo=UTC)  # Tuesday 20:00 local
    opening = s.window_opening(evening).astimezone(STOCKHOLM)
    assert (opening.weekday(), opening.hour) == (2, 7)  # Wednesday 07:00, the next window day
    friday_evening = datetime(2026, 3, 6, 17, 30, tzinfo=UTC)
    assert s.window_opening(friday_evening).astimezone(STOCKHOLM).weekday() == 0  # not the weekend
    morning = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    assert s.window_opening(morning) == morning


def test_interval_schedule_for_demos() -> None:
    s = weekly(interval_minutes=2, start_date=date(2026, 3, 2), send_time=time(10, 0))
    first = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert s.latest_slot(first - timedelta(seconds=1)) is None
    assert s.latest_slot(first + timedelta(minutes=5)) == first + timedelta(minutes=4)
    assert s.next_slot(first) == first + timedelta(minutes=2)
