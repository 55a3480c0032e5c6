"""A campaign played through the real flow (import, planner, SMTP, answer links), with answers
chosen so every part of the dashboard has something to show."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from tests.flow import answer, correct_options, mail_links, run_slots, sync_lessons
from tests.smtp_server import SmtpSink

# Nine people in Socialförvaltningen, four in Vård och omsorg: fewer than five, so merged.
STAFF = [
    ("Anna", "Lind", "Socialförvaltningen"),
    ("Erik", "Berg", "Socialförvaltningen"),
    ("Maria", "Holm", "Socialförvaltningen"),
    ("Johan", "Ek", "Socialförvaltningen"),
    ("Sara", "Nyström", "Socialförvaltningen"),
    ("Ali", "Hassan", "Socialförvaltningen"),
    ("Lena", "Åberg", "Socialförvaltningen"),
    ("Per", "Lund", "Socialförvaltningen"),
    ("Mona", "Falk", "Socialförvaltningen"),
    ("Karin", "Sund", "Vård och omsorg"),
    ("Omar", "Said", "Vård och omsorg"),
    ("Eva", "Strand", "Vård och omsorg"),
    ("Nils", "Dahl", "Vård och omsorg"),
]
SILENT = "johan.ek@kommun.example"  # never answers
OPTS_OUT = "nils.dahl@kommun.example"  # opts out after the first e-mail
EASY, CONFUSING = "rad-01", "rad-02"  # everybody right / everybody wrong at the first attempt
CAMPAIGN = {
    "name": "Radikalisering vt 2026",
    "course": "radikalisering",
    "schedule": {"start_date": "2026-01-05", "weekdays": ["tue", "thu"], "time": "08:00"},
}


def address(first: str, last: str) -> str:
    return f"{first}.{last}@kommun.example".lower().replace("å", "a").replace("ö", "o")


def staff_csv() -> bytes:
    lines = ["Förnamn;Efternamn;E-post;Förvaltning"]
    lines += [f"{f};{last};{address(f, last)};{d}" for f, last, d in STAFF]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _choice(person: int, key: str, review: bool, right: int, options: int) -> int:
    wrong = (right + 1) % options
    if key == EASY or (review and person % 5):
        return right
    if key == CONFUSING:
        return wrong
    # Some people slip now and then, so not every figure is perfect.
    return wrong if (person + int(key[-1])) % 4 == 0 else right


def play(
    client: TestClient,
    runtime: Runtime,
    clock: FakeClock,
    sink: SmtpSink,
    headers: dict[str, str],
    slots: int = 12,
) -> int:
    """Import the staff, start the campaign and answer `slots` rounds of e-mails; its id."""
    sync_lessons(runtime)
    imported = client.post(
        "/api/v1/employees/import", files={"file": ("p.csv", staff_csv())}, headers=headers
    )
    assert imported.status_code == 200, imported.text
    campaign_id: int = client.post("/api/v1/campaigns", json=CAMPAIGN, headers=headers).json()["id"]
    client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=headers)
    right = correct_options(runtime, "radikalisering")
    people = {address(f, last): person for person, (f, last, _) in enumerate(STAFF)}
    for _ in range(slots):
        seen = len(sink.received)
        run_slots(runtime, clock, campaign_id, 1)
        clock.advance(minutes=30)  # people read later than mail scanners
        # Only this round's mail is parsed: parsing the whole inbox each round grows quadratically.
        for received in sink.received[seen:]:
            (who,) = received.rcpt_tos
            mail = received.message
            if who == OPTS_OUT:
                client.post(mail_links(mail).unsubscribe)
            elif who != SILENT:
                # The lesson's own question comes first; the rest are reviews.
                for index, (key, urls) in enumerate(mail_links(mail).answers.items()):
                    choice = _choice(people[who], key, index > 0, right[key], len(urls))
                    answer(client, mail, key, choice)
    return campaign_id
