"""Several sending accounts with daily limits: the slot is spread over them, each stays inside
its own rolling 24 hours, and the forecast says beforehand how it will go."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.outbox.models import Delivery, DeliveryStatus
from tests.delivery.worker_process import SLOT, make_campaign
from tests.flow import run_until, tick
from tests.smtp_server import SmtpSink

STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def sinks() -> Iterator[tuple[SmtpSink, SmtpSink]]:
    first, second = SmtpSink().start(), SmtpSink().start()
    yield first, second
    first.stop()
    second.stop()


def test_two_accounts_of_100_a_day_send_200_today_and_50_tomorrow_as_forecast(
    runtime: Runtime,
    clock: FakeClock,
    client: TestClient,
    reporter_headers: dict[str, str],
    sinks: tuple[SmtpSink, SmtpSink],
) -> None:
    first, second = sinks
    runtime.settings.sending_accounts = json.dumps(
        [
            {"name": "larande1", "smtp_url": first.url, "rate_per_day": 100},
            {
                "name": "larande2",
                "smtp_url": second.url,
                "mail_from": "Lärande <larande2@kommun.example>",
                "rate_per_day": 100,
            },
        ]
    )
    campaign_id = make_campaign(runtime, 250)  # Mondays 09:00, window 07:00–17:00 Mon–Fri

    # Beforehand (Monday 06:00): the forecast.
    answer = client.get(
        f"/api/v1/campaigns/{campaign_id}/forecast?weeks=1", headers=reporter_headers
    )
    assert answer.status_code == 200, answer.text
    forecast = answer.json()
    assert [a["name"] for a in forecast["accounts"]] == ["larande1", "larande2"]
    (slot,) = forecast["slots"]
    assert slot["emails"] == slot["lesson_emails"] == 250
    assert slot["lesson"]["position"] == 1
    first_at = _local(slot["first_at"])
    last_at = _local(slot["last_at"])
    assert (first_at.weekday(), f"{first_at:%H:%M}") == (0, "09:00")  # Monday, at the slot
    assert last_at.weekday() == 1 and "09:00" <= f"{last_at:%H:%M}" <= "09:05"  # Tuesday
    assert (
        "250 e-post, kontona tillåter 200 per dygn: lägg till ett konto eller sprid mottagarna "
        "över två dagar"
    ) in forecast["warnings"]
    assert any("hinner inte klart inom sändfönstret 07:00–17:00" in w for w in slot["warnings"])

    # Monday: 200 go, 100 through each account; then nothing until a day has passed.
    clock.set(SLOT + timedelta(minutes=1))
    assert tick(runtime).sent == 200
    assert (len(first.received), len(second.received)) == (100, 100)
    assert run_until(runtime, clock, SLOT + timedelta(days=1)) == 0

    # Tuesday, once the first sends are 24 hours old: the other 50, inside the window.
    assert run_until(runtime, clock, SLOT + timedelta(days=1, minutes=31)) == 50
    with runtime.session_factory() as session:
        rows = session.execute(select(Delivery.status, Delivery.sent_at)).all()
    assert {status for status, _ in rows} == {DeliveryStatus.sent}
    days = sorted(_local(sent_at).date().isoformat() for _, sent_at in rows)
    assert (days.count("2026-01-05"), days.count("2026-01-06")) == (200, 50)
    assert all("07:00" <= f"{_local(sent_at):%H:%M}" < "17:00" for _, sent_at in rows)
    # Both accounts sent what they could; the second one as its own From address.
    assert len(first.received) + len(second.received) == 250
    assert all(r.mail_from == "larande2@kommun.example" for r in second.received)
    assert {str(m["From"]) for m in second.messages()} == {"Lärande <larande2@kommun.example>"}
    assert {str(m["From"]) for m in first.messages()} == {"Nanolearn <kurs@kommun.example>"}


def test_creating_and_starting_a_campaign_returns_the_warnings(
    runtime: Runtime, client: TestClient, editor_headers: dict[str, str]
) -> None:
    runtime.settings.smtp_rate_per_day = 3  # one mailbox, 3 a day, and 5 people below
    make_campaign(runtime, 5)  # the staff list (and a first campaign)
    body = {
        "name": "Ny kampanj",
        "course": "radikalisering",
        "schedule": {"start_date": "2026-01-05", "weekdays": ["mon"], "time": "09:00"},
    }
    created = client.post("/api/v1/campaigns", json=body, headers=editor_headers)
    assert created.status_code == 201, created.text
    expected = (
        "5 e-post, kontot tillåter 3 per dygn: lägg till ett konto eller sprid mottagarna "
        "över två dagar"
    )
    assert expected in created.json()["warnings"]
    started = client.post(f"/api/v1/campaigns/{created.json()['id']}/start", headers=editor_headers)
    assert started.status_code == 200, started.text
    assert expected in started.json()["warnings"]


def _local(value: object) -> datetime:
    moment = datetime.fromisoformat(str(value)) if not isinstance(value, datetime) else value
    return moment.astimezone(STOCKHOLM)
