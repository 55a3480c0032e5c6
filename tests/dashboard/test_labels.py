"""Swedish words for a campaign's status and schedule, on unsaved campaigns (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from app.campaigns.models import Campaign, CampaignStatus
from app.dashboard.views import labels

NBSP = "\u00a0"
MONDAY = datetime(2026, 1, 5, 5, 0, tzinfo=UTC)


def campaign(status: CampaignStatus, **changes: object) -> Campaign:
    fields: dict[str, object] = {
        "name": "Våren",
        "course_id": 1,
        "status": status,
        "start_date": date(2026, 1, 5),
        "end_date": None,
        "weekdays": [1, 3],
        "send_time": time(8, 30),
        "timezone": "Europe/Stockholm",
        "window_start": time(7, 0),
        "window_end": time(17, 0),
        "window_weekdays": [0, 1, 2, 3, 4],
        "interval_minutes": None,
    }
    return Campaign(**{**fields, **changes})


def test_next_send_only_for_a_running_campaign() -> None:
    running = campaign(CampaignStatus.running)
    assert labels.next_send(running, MONDAY) == f"tis 6 jan kl.{NBSP}08.30 svensk tid"
    for status in (CampaignStatus.draft, CampaignStatus.paused, CampaignStatus.cancelled):
        assert labels.next_send(campaign(status), MONDAY) == "Inget planerat"
    ended = campaign(CampaignStatus.running, end_date=date(2026, 1, 4))
    assert labels.next_send(ended, MONDAY) == "Inget planerat"


def test_status_and_schedule_in_words() -> None:
    assert [labels.status(campaign(s)) for s in CampaignStatus] == [
        "Utkast",
        "Pågår",
        "Pausad",
        "Avbruten",
        "Avslutad",
    ]
    assert (
        labels.schedule(campaign(CampaignStatus.running))
        == f"Tisdagar och torsdagar kl.{NBSP}08.30 svensk tid"
    )
    three = campaign(CampaignStatus.running, weekdays=[4, 0, 2])
    assert labels.schedule(three) == f"Måndagar, onsdagar och fredagar kl.{NBSP}08.30 svensk tid"
    assert labels.schedule(campaign(CampaignStatus.running, interval_minutes=1)) == "Varje minut"
    for every, words in ((2, "Var 2:a minut"), (5, "Var 5:e minut"), (12, "Var 12:e minut")):
        assert labels.schedule(campaign(CampaignStatus.running, interval_minutes=every)) == words


def test_period() -> None:
    assert labels.period(date(2026, 1, 5), None) == "Från 5 januari 2026"
    assert labels.period(date(2026, 1, 5), date(2026, 6, 30)) == "5 januari 2026 – 30 juni 2026"
