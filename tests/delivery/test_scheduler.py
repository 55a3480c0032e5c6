"""The planner and dispatcher over weeks of fake time, against a real SMTP server."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.employees.models import Employee
from app.outbox.models import Delivery, DeliveryStatus
from tests.flow import run_slots, sync_lessons, tick
from tests.smtp_server import FaultyHandler, SmtpSink

STAFF = "namn,e-post,avdelning\n" + "".join(
    f"Person {i},person{i}@kommun.example,Avd {i % 2}\n" for i in range(1, 7)
)
BODY = {
    "name": "Test",
    "course": "radikalisering",
    "schedule": {"start_date": "2026-01-05", "weekdays": ["mon", "wed", "fri"], "time": "09:00"},
}


def start_campaign(client: TestClient, runtime: Runtime, headers: dict, body: dict = BODY) -> int:
    sync_lessons(runtime)
    response = client.post(
        "/api/v1/employees/import",
        files={"file": ("s.csv", STAFF.encode(), "text/csv")},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    campaign_id: int = client.post("/api/v1/campaigns", json=body, headers=headers).json()["id"]
    assert client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=headers).status_code == 200
    return campaign_id


def subjects_by_person(sink: SmtpSink) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in sink.received:
        out.setdefault(r.rcpt_tos[0], []).append(str(r.message["Subject"]))
    return out


def test_pause_resume_neither_skips_nor_repeats(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> None:
    lessons_only = {**BODY, "max_reviews_per_email": 0}
    campaign_id = start_campaign(client, runtime, editor_headers, lessons_only)
    run_slots(runtime, clock, campaign_id, 2)
    client.post(f"/api/v1/campaigns/{campaign_id}/pause", headers=editor_headers)
    clock.advance(days=7)
    assert tick(runtime).sent == 0  # paused: nothing goes out
    client.post(f"/api/v1/campaigns/{campaign_id}/resume", headers=editor_headers)
    run_slots(runtime, clock, campaign_id, 10)
    run_slots(runtime, clock, campaign_id, 3)  # more slots than lessons: nothing more to send
    per_person = subjects_by_person(smtp_sink)
    assert len(per_person) == 6
    lesson_order = per_person["person1@kommun.example"]
    assert len(lesson_order) == 12 and len(set(lesson_order)) == 12
    assert all(s == lesson_order for s in per_person.values())


def test_pause_between_plan_and_send_drops_nothing(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> None:
    from app.delivery.jobs import plan_once
    from tests.flow import next_slot

    campaign_id = start_campaign(client, runtime, editor_headers)
    slot = next_slot(runtime, campaign_id)
    assert slot is not None
    clock.set(slot + timedelta(minutes=1))
    plan_once(runtime)  # planned, not yet sent
    client.post(f"/api/v1/campaigns/{campaign_id}/pause", headers=editor_headers)
    assert tick(runtime).sent == 0
    clock.advance(minutes=30)
    client.post(f"/api/v1/campaigns/{campaign_id}/resume", headers=editor_headers)
    assert tick(runtime).sent == 6  # the same slot, still inside the window: lesson 1 for all
    run_slots(runtime, clock, campaign_id, 1)
    first, second = subjects_by_person(smtp_sink)["person1@kommun.example"]
    assert first != second


def test_deactivated_employees_get_nothing_more_and_late_joiners_start_at_lesson_1(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> None:
    campaign_id = start_campaign(client, runtime, editor_headers)
    run_slots(runtime, clock, campaign_id, 2)
    without_one = (
        STAFF.replace("Person 6,person6@kommun.example,Avd 0\n", "")
        + "Ny Person,ny@kommun.example,Avd 1\n"
    )
    result = client.post(
        "/api/v1/employees/import?mode=sync",
        files={"file": ("s.csv", without_one.encode(), "text/csv")},
        headers=editor_headers,
    ).json()
    assert (result["created"], result["deactivated"]) == (1, 1)
    run_slots(runtime, clock, campaign_id, 2)
    per_person = subjects_by_person(smtp_sink)
    assert len(per_person["person6@kommun.example"]) == 2
    assert per_person["ny@kommun.example"] == per_person["person1@kommun.example"][:2]


def test_downtime_never_doubles_up_or_sends_at_night(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> None:
    campaign_id = start_campaign(client, runtime, editor_headers)  # Mon, Wed, Fri at 09:00
    run_slots(runtime, clock, campaign_id, 1)
    # Down from Monday until Thursday 19:00 local: Wednesday's slot was missed.
    clock.set(clock.now().replace(day=8, hour=18))
    assert tick(runtime).sent == 0  # outside the send window: never at night
    clock.set(clock.now().replace(day=9, hour=6, minute=0))  # Friday 07:00 local, window opens
    assert tick(runtime).sent == 0  # Friday has its own slot, which carries the lesson
    run_slots(runtime, clock, campaign_id, 1)
    lessons = subjects_by_person(smtp_sink)["person1@kommun.example"]
    assert len(lessons) == 2 and len(set(lessons)) == 2
    for r in smtp_sink.received:
        local = r.message["Date"].datetime.astimezone(runtime.settings.timezone_info)
        assert 7 <= local.hour < 17 and local.weekday() < 5


def test_missed_slot_goes_out_when_the_next_window_opens(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> None:
    body = {**BODY, "schedule": {**BODY["schedule"], "weekdays": ["tue", "thu"]}}
    campaign_id = start_campaign(client, runtime, editor_headers, body)
    clock.set(clock.now().replace(day=6, hour=18))  # back at Tuesday 19:00: 09:00 was missed
    assert tick(runtime).sent == 0
    clock.set(clock.now().replace(day=7, hour=6, minute=1))  # Wednesday 07:01, a window day
    assert tick(runtime).sent == 6
    run_slots(runtime, clock, campaign_id, 1)  # Thursday: lesson 2
    lessons = subjects_by_person(smtp_sink)["person1@kommun.example"]
    assert len(lessons) == 2 and len(set(lessons)) == 2


def test_no_one_ever_gets_two_emails_in_one_slot(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> None:
    campaign_id = start_campaign(client, runtime, editor_headers)
    run_slots(runtime, clock, campaign_id, 3)
    for _ in range(3):
        clock.advance(minutes=7)
        tick(runtime)
    with runtime.session_factory() as session:
        pairs = Counter(session.execute(select(Delivery.enrollment_id, Delivery.slot_at)).all())
    assert max(pairs.values()) == 1
    assert len(smtp_sink.received) == 18


def test_smtp_rejections_and_temporary_failures(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> None:
    handler = smtp_sink.handler
    assert not isinstance(handler, FaultyHandler)
    faulty = FaultyHandler(reject={"person2@kommun.example"}, temporary_failures=1)
    smtp_sink.controller.handler = faulty
    smtp_sink.handler = faulty
    campaign_id = start_campaign(client, runtime, editor_headers)
    assert run_slots(runtime, clock, campaign_id, 1) == 0  # 451 once for each address, 550 for one
    clock.advance(minutes=3)
    assert tick(runtime).sent == 5  # the retries, after the backoff
    with runtime.session_factory() as session:
        failed = session.scalars(
            select(Delivery).where(Delivery.status == DeliveryStatus.failed)
        ).one()
        assert failed.last_error is not None and failed.last_error.startswith("550")
        assert (
            session.scalar(select(Delivery).where(Delivery.status == DeliveryStatus.pending))
            is None
        )
    counts = client.get(f"/api/v1/campaigns/{campaign_id}", headers=editor_headers).json()["counts"]
    assert (counts["sent"], counts["failed"]) == (5, 1)


def test_expired_lease_is_picked_up_again(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> None:
    from app.delivery.jobs import plan_once
    from app.outbox.state import claim
    from tests.flow import next_slot

    campaign_id = start_campaign(client, runtime, editor_headers)
    slot = next_slot(runtime, campaign_id)
    assert slot is not None
    clock.set(slot + timedelta(minutes=1))
    plan_once(runtime)
    with runtime.session_factory() as session:  # a worker claims, then dies before sending
        claimed = claim(session, "dead-worker", clock.now(), 100, timedelta(seconds=60))
        session.commit()
    assert len(claimed) == 6
    assert tick(runtime).sent == 0  # still leased
    clock.advance(seconds=61)
    assert tick(runtime).sent == 6
    with runtime.session_factory() as session:
        session.execute(update(Employee).values(active=False))
        session.commit()
