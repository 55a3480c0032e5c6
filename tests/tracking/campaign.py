"""A real campaign with real e-mails to click in: import, create, start, send one slot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.core.tokens import verify_delivery
from app.tracking.models import Answer, Event, EventKind
from app.tracking.visits import Visit
from tests.flow import BROWSER_UA, inbox, mail_links, run_slots, sync_lessons
from tests.smtp_server import SmtpSink

STAFF_CSV = (
    "Förnamn;Efternamn;E-post;Förvaltning\n"
    "Anna;Lind;anna.lind@kommun.example;Socialförvaltningen\n"
    "Erik;Berg;erik.berg@kommun.example;Socialförvaltningen\n"
)
ANNA = "anna.lind@kommun.example"
ERIK = "erik.berg@kommun.example"

CAMPAIGN = {
    "name": "Radikalisering vt 2026",
    "course": "radikalisering",
    "schedule": {
        "start_date": "2026-01-05",
        "weekdays": ["tue", "thu"],
        "time": "08:00",
        "timezone": "Europe/Stockholm",
    },
}


@dataclass(frozen=True)
class Sent:
    campaign_id: int
    mail: dict[str, EmailMessage]  # address -> the first lesson e-mail


def send_first_lesson(
    runtime: Runtime, client: TestClient, clock: FakeClock, sink: SmtpSink, headers: dict[str, str]
) -> Sent:
    sync_lessons(runtime)
    imported = client.post(
        "/api/v1/employees/import",
        files={"file": ("personal.csv", STAFF_CSV.encode(), "text/csv")},
        headers=headers,
    )
    assert imported.status_code == 200, imported.text
    created = client.post("/api/v1/campaigns", json=CAMPAIGN, headers=headers)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    assert client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=headers).status_code == 200
    assert run_slots(runtime, clock, campaign_id, 1) == 2
    return Sent(campaign_id, {a: inbox(sink, a)[0] for a in (ANNA, ERIK)})


def reports(client: TestClient, campaign_id: int, headers: dict[str, str]) -> dict[str, Any]:
    """What HR and the project leader see: completion rows and the learning funnel."""
    completion = client.get(
        f"/api/v1/reports/completion?campaign={campaign_id}&format=json", headers=headers
    )
    assert completion.status_code == 200, completion.text
    learning = client.get(f"/api/v1/campaigns/{campaign_id}/learning", headers=headers)
    assert learning.status_code == 200, learning.text
    rows = {r["email"]: r for r in completion.json()["rows"]}
    return {
        "completion": {
            email: {k: row[k] for k in ("lessons_viewed", "questions_answered")}
            for email, row in rows.items()
        },
        "funnel": {s["step"]: s["count"] for s in learning.json()["funnel"]},
    }


def delivery_id(runtime: Runtime, message: EmailMessage) -> int:
    token = mail_links(message).unsubscribe.rsplit("/", 1)[1]
    found = verify_delivery(runtime.settings.secret(), token)
    assert found is not None
    return found


def events_of(runtime: Runtime, message: EmailMessage) -> list[tuple[str, str, str]]:
    """(kind, class, reason) of every event recorded for the delivery behind this e-mail."""
    delivery = delivery_id(runtime, message)
    with runtime.session_factory() as session:
        events = session.scalars(
            select(Event).where(Event.delivery_id == delivery).order_by(Event.id)
        )
        return [(e.kind, e.classification, e.class_reason) for e in events]


def answer_count(runtime: Runtime) -> int:
    with runtime.session_factory() as session:
        return len(list(session.scalars(select(Answer.id))))


@pytest.fixture
def sent(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> Sent:
    """The first lesson sent to Anna and Erik, half an hour ago (past the scanner window).
    A fixture: the tracking tests get it from their conftest, others import it."""
    mail = send_first_lesson(runtime, client, clock, smtp_sink, editor_headers)
    clock.advance(minutes=30)
    return mail


def lesson_view(now: datetime, delivery: int, act: Callable[..., Any] | None = None) -> Visit:
    """A browser's view of one e-mail's lesson, as the gate gets it (for tests of the gate
    itself, past the HTTP layer)."""
    return Visit(
        now=now,
        keys=("a-test", "t-anna"),
        delivery_id=delivery,
        user_agent=BROWSER_UA,
        link="l:",
        record=lambda opened: (EventKind.view, opened.questions[0].lesson_id),
        act=act,
    )
