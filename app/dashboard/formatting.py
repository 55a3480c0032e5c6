"""Numbers, shares and dates the way Swedish readers write them: 1 234, 72 %, 6 jan kl. 08.00."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.core.i18n import month_names, zone_words

# A non-breaking space keeps "72 %" and "1 234" on one line.
NBSP = "\u00a0"
NO_VALUE = "–"
_WEEKDAYS = ("mån", "tis", "ons", "tors", "fre", "lör", "sön")
_MONTHS = ("jan", "feb", "mars", "apr", "maj", "juni", "juli", "aug", "sep", "okt", "nov", "dec")
_MONTHS_LONG = tuple(month_names("sv"))


def number(value: int) -> str:
    return f"{value:,}".replace(",", NBSP)


def percent_value(share: float) -> int:
    # Half up, like the completion report: round() would turn 0.125 into 12.
    return int(share * 100 + 0.5)


def percent(share: float | None) -> str:
    return NO_VALUE if share is None else f"{percent_value(share)}{NBSP}%"


def long_date(day: date) -> str:
    """'5 januari 2026'."""
    return f"{day.day} {_MONTHS_LONG[day.month - 1]} {day.year}"


def send_time(moment: datetime, tz: ZoneInfo, today: date) -> str:
    """'tis 6 jan kl. 08.00 svensk tid' in the campaign's time zone, which it names; the year
    only when it is not this one."""
    local = moment.astimezone(tz)
    year = f" {local.year}" if local.year != today.year else ""
    return (
        f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}{year} "
        f"kl.{NBSP}{local:%H.%M} {zone_words(str(tz))}"
    )
