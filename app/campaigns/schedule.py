"""When a campaign sends: weekly slots in the campaign's time zone, and its send window.

All instants are UTC; the local wall-clock time is what stays fixed, so a slot at 08:00 is at
08:00 in Stockholm in January and in July alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WINDOW = (time(7, 0), time(17, 0))
_SEARCH_DAYS = 8  # a weekly schedule repeats within a week; one more day covers the edges


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time. A time skipped by a DST change moves forward."""
    # zoneinfo resolves a non-existent time (spring forward) with the old offset, i.e. later,
    # and an ambiguous one (fall back) as its first occurrence: both what a reader expects.
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class Schedule:
    start_date: date
    end_date: date | None
    weekdays: frozenset[int]  # 0 = Monday
    send_time: time
    tz: ZoneInfo
    window_start: time = DEFAULT_WINDOW[0]
    window_end: time = DEFAULT_WINDOW[1]
    window_days: frozenset[int] = frozenset(range(5))  # Monday to Friday
    interval_minutes: int | None = None

    def _starts_at(self) -> datetime:
        return local_instant(self.start_date, self.send_time, self.tz)

    def sends_on(self, day: date) -> bool:
        if day < self.start_date or (self.end_date is not None and day > self.end_date):
            return False
        return day.weekday() in self.weekdays

    def latest_slot(self, now: datetime) -> datetime | None:
        """The most recent slot at or before `now`, or None before the first one."""
        if self.interval_minutes:
            first = self._starts_at()
            if now < first:
                return None
            step = timedelta(minutes=self.interval_minutes)
            slot = first + ((now - first) // step) * step
            if self.end_date is not None and slot.astimezone(self.tz).date() > self.end_date:
                return None
            return slot
        today = now.astimezone(self.tz).date()
        for back in range(_SEARCH_DAYS):
            day = today - timedelta(days=back)
            if day < self.start_date:
                return None
            if self.sends_on(day):
                slot = local_instant(day, self.send_time, self.tz)
                if slot <= now:
                    return slot
        return None

    def next_slot(self, after: datetime) -> datetime | None:
        """The first slot strictly after `after`, or None when the schedule has ended."""
        if self.interval_minutes:
            first = self._starts_at()
            if after < first:
                return first
            step = timedelta(minutes=self.interval_minutes)
            slot = first + ((after - first) // step + 1) * step
            if self.end_date is not None and slot.astimezone(self.tz).date() > self.end_date:
                return None
            return slot
        day = max(after.astimezone(self.tz).date(), self.start_date)
        for _ in range(_SEARCH_DAYS):
            if self.end_date is not None and day > self.end_date:
                return None
            if self.sends_on(day):
                slot = local_instant(day, self.send_time, self.tz)
                if slot > after:
                    return slot
            day += timedelta(days=1)
        return None

    def ended(self, now: datetime) -> bool:
        """True when the end date has passed in the campaign's time zone."""
        return self.end_date is not None and now.astimezone(self.tz).date() > self.end_date

    def in_window(self, when: datetime) -> bool:
        if self.interval_minutes:
            return True  # demo schedules send around the clock
        local = when.astimezone(self.tz)
        return (
            local.weekday() in self.window_days
            and self.window_start <= local.time() < self.window_end
        )

    def window_opening(self, when: datetime) -> datetime:
        """`when` if it is inside the send window, else when the next window opens (never at night)."""
        if self.in_window(when):
            return when
        local = when.astimezone(self.tz)
        day = local.date()
        if local.time() >= self.window_end:
            day += timedelta(days=1)
        for _ in range(_SEARCH_DAYS):
            if day.weekday() in self.window_days:
                opening = local_instant(day, self.window_start, self.tz)
                if opening >= when:
                    return opening
            day += timedelta(days=1)
        return local_instant(day, self.window_start, self.tz)


def parse_weekdays(names: list[str]) -> frozenset[int]:
    return frozenset(WEEKDAY_NAMES.index(n) for n in names)


def weekday_names(days: list[int]) -> list[str]:
    return [WEEKDAY_NAMES[d] for d in sorted(days)]
