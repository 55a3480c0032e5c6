"""How a campaign's coming slots will go out under the sending accounts' limits: a pure model.

For each slot: how many e-mails, when the first and the last are expected to leave, and a
warning when the slot cannot finish inside its send window, runs into the next slot (whose
planning replaces what is still unsent: the model stops the slot there, as the planner does),
or is more than the accounts may send in a day.

The model follows the dispatcher: mail leaves only inside the send window, at each account's
rate (the tightest of its per-minute and per-hour limits; `UNLIMITED_PER_MINUTE` where it has
none), spread over the accounts, each inside its rolling 24-hour limit. It steps a minute at a
time while mail is leaving and jumps over nights and exhausted days: four weeks of slots for
20,000 people take a few tens of milliseconds, a year about half a second. Other campaigns sharing the accounts are not counted.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.campaigns.schedule import Schedule, local_instant
from app.core.i18n import format_date

# A relay or Graph mailbox without a configured limit: about what one worker sends a minute
# (docs/benchmarks.md measures far more; a relay rarely takes more).
UNLIMITED_PER_MINUTE = 1200
STEP = timedelta(minutes=1)
DAY = timedelta(hours=24)
MAX_STEPS = 500_000  # a bound on the work for absurd inputs
_NUMBER_WORDS = {2: "två", 3: "tre", 4: "fyra", 5: "fem", 6: "sex", 7: "sju"}


@dataclass(frozen=True)
class AccountLimits:
    name: str
    per_minute: int | None = None
    per_hour: int | None = None
    per_day: int | None = None
    # Sends already counted against the daily limit: (minute, e-mails), from the database.
    sent: tuple[tuple[datetime, int], ...] = ()

    @property
    def per_second(self) -> float:
        rates = [UNLIMITED_PER_MINUTE / 60]
        if self.per_minute:
            rates.append(self.per_minute / 60)
        if self.per_hour:
            rates.append(self.per_hour / 3600)
        return min(rates)


@dataclass(frozen=True)
class SlotLoad:
    at: datetime
    lessons: int  # e-mails carrying a lesson (and maybe review questions)
    reviews: int  # e-mails with review questions only
    lesson_position: int | None = None  # the lesson most people get (1 = the first)
    lesson_key: str | None = None
    lesson_title: str | None = None

    @property
    def emails(self) -> int:
        return self.lessons + self.reviews


@dataclass(frozen=True)
class SlotForecast:
    load: SlotLoad
    starts_at: datetime  # when the slot's e-mails become due (the window's opening)
    first_at: datetime | None  # None: nothing to send
    last_at: datetime | None
    warnings: list[str] = field(default_factory=list)


def number(n: int) -> str:
    """12000 -> "12 000", as Swedish writes it."""
    return f"{n:,}".replace(",", " ")


def _when(moment: datetime, schedule: Schedule) -> str:
    local = moment.astimezone(schedule.tz)
    return f"{format_date(local.date(), 'sv')} kl. {local:%H:%M}"


class _Account:
    """One account's state while the model runs: its recent sends for the daily limit."""

    def __init__(self, limits: AccountLimits) -> None:
        self.limits = limits
        self.rate = limits.per_second
        self.history: deque[tuple[datetime, float]] = deque(sorted(limits.sent))
        self.in_day = float(sum(c for _, c in self.history))

    def day_left(self, now: datetime) -> float:
        per_day = self.limits.per_day
        if per_day is None:
            return math.inf
        while self.history and self.history[0][0] <= now - DAY:
            self.in_day -= self.history.popleft()[1]
        return max(0.0, per_day - self.in_day)

    def record(self, when: datetime, count: float) -> None:
        if count > 0 and self.limits.per_day is not None:
            self.history.append((when, count))
            self.in_day += count

    def frees_at(self) -> datetime | None:
        return self.history[0][0] + DAY if self.history else None


class _Model:
    def __init__(self, schedule: Schedule, accounts: Sequence[AccountLimits]) -> None:
        self.schedule = schedule
        self.accounts = [_Account(a) for a in accounts]
        self.steps = 0

    def window_end(self, t: datetime) -> datetime:
        s = self.schedule
        if s.interval_minutes:
            return t + DAY  # demo schedules send around the clock
        return local_instant(t.astimezone(s.tz).date(), s.window_end, s.tz)

    def send(
        self, start: datetime, count: int, until: datetime | None
    ) -> tuple[datetime | None, datetime | None, int]:
        """Send `count` e-mails from `start` until all are gone or the next slot (`until`)
        replaces them: when the first and the last leave, and how many never do."""
        left = float(count)
        t, first, last = start, None, None
        while left > 1e-9:
            self.steps += 1
            if self.steps > MAX_STEPS:
                return first, None, 0
            t = self.schedule.window_opening(t)
            if until is not None and t >= until:
                return first, last, math.ceil(left - 1e-9)
            end = self.window_end(t) if until is None else min(self.window_end(t), until)
            step = min(STEP, end - t)
            seconds = step.total_seconds()
            caps = [min(a.rate * seconds, a.day_left(t)) for a in self.accounts]
            total = sum(caps)
            if total <= 1e-9:  # every account has used its day: wait until one frees
                frees = [f for a in self.accounts if (f := a.frees_at()) is not None]
                t = max(min(frees), t + timedelta(seconds=1)) if frees else end
                continue
            sent = min(left, total)
            for account, cap in zip(self.accounts, caps, strict=True):
                account.record(t, cap * sent / total)
            first = first or t
            last = t + step * (sent / total)
            left -= sent
            t += step
        return first, last, 0


def _daily_warning(load: SlotLoad, accounts: Sequence[AccountLimits]) -> str | None:
    days = [a.per_day for a in accounts]
    if not days or any(d is None for d in days):
        return None
    per_day = sum(d for d in days if d is not None)
    if load.emails <= per_day:
        return None
    spread = math.ceil(load.emails / per_day)
    konton = "kontona tillåter" if len(accounts) > 1 else "kontot tillåter"
    return (
        f"{number(load.emails)} e-post, {konton} {number(per_day)} per dygn: lägg till ett "
        f"konto eller sprid mottagarna över {_NUMBER_WORDS.get(spread, str(spread))} dagar"
    )


def forecast(
    schedule: Schedule, loads: Sequence[SlotLoad], accounts: Sequence[AccountLimits]
) -> list[SlotForecast]:
    """The expected course of each slot in `loads` (in time order)."""
    model = _Model(schedule, accounts)
    result: list[SlotForecast] = []
    for index, load in enumerate(loads):
        starts = schedule.window_opening(load.at)
        following = loads[index + 1].at if index + 1 < len(loads) else schedule.next_slot(load.at)
        first, last, replaced = model.send(starts, load.emails, following)
        warnings: list[str] = []
        daily = _daily_warning(load, accounts)
        if daily:
            warnings.append(daily)
        when = _when(load.at, schedule)
        if load.emails and last is None and not replaced:
            warnings.append(f"Utskicket {when} går inte att beräkna: kontrollera gränserna.")
        elif last is not None and last > model.window_end(starts):
            warnings.append(
                f"Utskicket {when} hinner inte klart inom sändfönstret "
                f"{schedule.window_start:%H:%M}–{schedule.window_end:%H:%M}: den sista e-posten "
                f"väntas gå {_when(last, schedule)}. Lägg till ett konto, höj gränserna eller "
                "vidga sändfönstret."
            )
        if replaced and following is not None:
            warnings.append(
                f"Utskicket {when} hinner inte klart före nästa utskick {_when(following, schedule)}"
                f": omkring {number(replaced)} e-post har inte gått då, och de som skulle få dem "
                "får lektionen i nästa utskick i stället. Lägg till ett konto eller höj gränserna."
            )
        result.append(SlotForecast(load, starts, first, last, warnings))
    return result
