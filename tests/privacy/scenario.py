"""One person's whole footprint, made through the real API, relay and links: a refused e-mail,
scanner and human clicks, a wrong then a right answer, a review, an opt-out, an edit by HR."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from tests.flow import (
    BROWSER_UA,
    answer,
    correct_options,
    inbox,
    mail_links,
    run_slots,
    sync_lessons,
)
from tests.privacy.relay import RefusingHandler
from tests.smtp_server import SmtpSink

ADDRESS = "ingegerd.qvarnstrom@kommun.example"
FIRST, LAST, NUMBER = "Ingegerd", "Qvarnström", "QZ-4711"
# What must never remain after erasure, in any spelling the system might have stored.
IDENTITY = (ADDRESS, "ingegerd.qvarnstrom", FIRST, LAST, "Qvarnstrom", NUMBER)

STAFF_CSV = (
    "Förnamn;Efternamn;E-post;Förvaltning;Anställningsnummer\n"
    f"{FIRST};{LAST};Ingegerd.Qvarnstrom@Kommun.example;Socialförvaltningen;{NUMBER}\n"
    "Erik;Berg;erik.berg@kommun.example;Socialförvaltningen;1002\n"
    "Maria;Holm;maria.holm@kommun.example;Utbildningsförvaltningen;1003\n"
)

CAMPAIGN: dict[str, Any] = {
    "name": "Radikalisering vt 2026",
    "course": "radikalisering",
    "audience": {"departments": []},
    "schedule": {
        "start_date": "2026-01-05",
        "weekdays": ["tue", "thu"],
        "time": "08:00",
        "timezone": "Europe/Stockholm",
    },
}


@dataclass(frozen=True)
class Footprint:
    campaign_id: int
    employee_id: int
    tokens: list[str]  # the link tokens of every e-mail the person got


def import_staff(client: TestClient, headers: dict[str, str], csv: str = STAFF_CSV) -> Any:
    files = {"file": ("personal.csv", csv.encode("utf-8-sig"), "text/csv")}
    response = client.post("/api/v1/employees/import", files=files, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def employee_id(client: TestClient, headers: dict[str, str], query: str) -> int:
    found = client.get("/api/v1/employees", params={"q": query}, headers=headers).json()
    (item,) = found["items"]
    return int(item["id"])


def start_campaign(client: TestClient, headers: dict[str, str], **schedule: Any) -> int:
    body = CAMPAIGN | {"schedule": CAMPAIGN["schedule"] | schedule}
    created = client.post("/api/v1/campaigns", json=body, headers=headers)
    assert created.status_code == 201, created.text
    campaign_id = int(created.json()["id"])
    started = client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=headers)
    assert started.status_code == 200, started.text
    return campaign_id


def make_footprint(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    headers: dict[str, str],
) -> Footprint:
    """`headers` must be an admin key's: the story includes an edit by HR."""
    sync_lessons(runtime)
    import_staff(client, headers)
    person = employee_id(client, headers, NUMBER)
    campaign_id = start_campaign(client, headers)
    right = correct_options(runtime, "radikalisering")
    browser = {"User-Agent": BROWSER_UA}

    # Slot 1: the relay refuses her address (and quotes it); Erik answers right.
    relay = smtp_sink.handler
    assert isinstance(relay, RefusingHandler)
    relay.refuse.add(ADDRESS)
    run_slots(runtime, clock, campaign_id, 1)
    relay.refuse.clear()
    (erik_mail,) = inbox(smtp_sink, "erik.berg@kommun.example")
    clock.advance(minutes=20)
    (key,) = mail_links(erik_mail).answers
    assert answer(client, erik_mail, key, right[key]).status_code == 200

    # Slot 2: a scanner fetches her links at once; later she reads, answers wrong, then right.
    run_slots(runtime, clock, campaign_id, 1)
    (mail,) = inbox(smtp_sink, ADDRESS)
    links = mail_links(mail)
    assert links.view is not None
    assert client.get(links.view, headers={"User-Agent": "Mimecast"}).status_code == 200
    clock.advance(minutes=20)
    assert client.get(links.view, headers=browser).status_code == 200
    (key,) = links.answers
    wrong = (right[key] + 1) % len(links.answers[key])
    assert answer(client, mail, key, wrong).status_code == 200
    clock.advance(seconds=30)
    assert answer(client, mail, key, right[key]).status_code == 200

    # Slot 3: a new lesson and the review of the wrong one; she answers both, then opts out.
    run_slots(runtime, clock, campaign_id, 1)
    mail = inbox(smtp_sink, ADDRESS)[-1]
    clock.advance(hours=2)
    for key in mail_links(mail).answers:
        assert answer(client, mail, key, right[key]).status_code == 200
    unsubscribe = client.post(mail_links(mail).unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert unsubscribe.status_code == 200

    # HR moves her to another department (an audited edit).
    moved = client.patch(
        f"/api/v1/employees/{person}", json={"department": "Vård och omsorg"}, headers=headers
    )
    assert moved.status_code == 200, moved.text
    tokens = [_token(m) for m in inbox(smtp_sink, ADDRESS)]
    return Footprint(campaign_id, person, tokens)


def _token(message: Any) -> str:
    links = mail_links(message)
    return links.unsubscribe.rstrip("/").split("/")[-1]
