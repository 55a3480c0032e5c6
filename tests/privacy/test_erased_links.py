"""After erasure, the person's old e-mail links lead nowhere and record nothing."""

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.tracking.models import Answer, Event
from tests.flow import BROWSER_UA, inbox, mail_links, run_slots, sync_lessons
from tests.smtp_server import SmtpSink


def test_old_links_of_an_erased_person_answer_404(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
    admin_headers: dict,
) -> None:
    sync_lessons(runtime)
    staff = "namn;e-post\nAnna Lind;anna@kommun.example\n"
    client.post(
        "/api/v1/employees/import",
        files={"file": ("s.csv", staff.encode())},
        headers=editor_headers,
    )
    body = {
        "name": "T",
        "course": "radikalisering",
        "schedule": {"start_date": "2026-01-05", "weekdays": ["tue"], "time": "08:00"},
    }
    campaign_id = client.post("/api/v1/campaigns", json=body, headers=editor_headers).json()["id"]
    client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=editor_headers)
    run_slots(runtime, clock, campaign_id, 1)
    clock.advance(minutes=30)
    links = mail_links(inbox(smtp_sink, "anna@kommun.example")[0])
    employee_id = client.get("/api/v1/employees", headers=editor_headers).json()["items"][0]["id"]
    erased = client.delete(f"/api/v1/employees/{employee_id}?erase=true", headers=admin_headers)
    assert erased.status_code == 200, erased.text
    with runtime.session_factory() as session:
        before = (
            session.scalar(select(func.count(Event.id))),
            session.scalar(select(func.count(Answer.id))),
        )
    urls = next(iter(links.answers.values()))
    assert links.view is not None
    for url in (links.view, urls[0], links.unsubscribe):
        assert client.get(url, headers={"User-Agent": BROWSER_UA}).status_code == 404
    assert client.post(urls[0].rsplit("/", 1)[0], data={"option": "0"}).status_code == 404
    with runtime.session_factory() as session:
        after = (
            session.scalar(select(func.count(Event.id))),
            session.scalar(select(func.count(Answer.id))),
        )
    assert after == before
