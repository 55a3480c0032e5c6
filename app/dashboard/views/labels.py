"""Swedish words for the dashboard: statuses, schedules, report steps."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.campaigns.models import Campaign, CampaignStatus
from app.campaigns.service import schedule_of
from app.core.i18n import zone_words
from app.dashboard.formatting import NBSP, long_date, send_time

STATUS = {status: status.swedish for status in CampaignStatus}
_WEEKDAYS_PLURAL = (
    "måndagar",
    "tisdagar",
    "onsdagar",
    "torsdagar",
    "fredagar",
    "lördagar",
    "söndagar",
)
NOTHING_PLANNED = "Inget planerat"


def status(campaign: Campaign) -> str:
    return STATUS.get(CampaignStatus(campaign.status), str(campaign.status))


def next_send(campaign: Campaign, now: datetime) -> str:
    """When the next e-mail goes out, for a running campaign; otherwise that none is planned."""
    if campaign.status != CampaignStatus.running:
        return NOTHING_PLANNED
    slot = schedule_of(campaign).next_slot(now)
    if slot is None:
        return NOTHING_PLANNED
    tz = ZoneInfo(campaign.timezone)
    return send_time(slot, tz, now.astimezone(tz).date())


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " och " + words[-1]


def schedule(campaign: Campaign) -> str:
    """'Tisdagar och torsdagar kl. 08.00', or how often a demo campaign sends."""
    if campaign.interval_minutes:
        every = campaign.interval_minutes
        # Swedish ordinals: 2:a, 3:e, 21:a, 22:a, but 11:e and 12:e.
        suffix = "a" if every % 10 in (1, 2) and every % 100 not in (11, 12) else "e"
        return "Varje minut" if every == 1 else f"Var {every}:{suffix} minut"
    days = _join([_WEEKDAYS_PLURAL[d] for d in sorted(campaign.weekdays)])
    return (
        f"{days.capitalize()} kl.{NBSP}{campaign.send_time:%H.%M} {zone_words(campaign.timezone)}"
    )


def period(start: date, end: date | None) -> str:
    """'5 januari 2026 – 30 juni 2026', or 'Från 5 januari 2026' when it has no end date."""
    return f"{long_date(start)} – {long_date(end)}" if end else f"Från {long_date(start)}"
