"""Questions come back: sooner after a wrong answer, later after a right one, and retire."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.learning.models import RetiredReason, ReviewCard, ReviewLog
from app.lessons.models import Lesson
from tests.flow import answer, correct_options, inbox, mail_links, run_slots, sync_lessons
from tests.smtp_server import SmtpSink

STAFF = "namn;e-post\nAnna Rätt;anna@kommun.example\nErik Fel;erik@kommun.example\nJohan Tyst;johan@kommun.example\n"
BODY = {
    "name": "Repetition",
    "course": "radikalisering",
    "schedule": {"start_date": "2026-01-05", "weekdays": ["mon", "wed", "fri"], "time": "09:00"},
}
ANNA, ERIK, JOHAN = "anna@kommun.example", "erik@kommun.example", "johan@kommun.example"


def start(client: TestClient, runtime: Runtime, headers: dict, **settings: object) -> int:
    sync_lessons(runtime)
    client.post(
        "/api/v1/employees/import", files={"file": ("s.csv", STAFF.encode())}, headers=headers
    )
    campaign_id: int = client.post(
        "/api/v1/campaigns", json={**BODY, **settings}, headers=headers
    ).json()["id"]
    client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=headers)
    return campaign_id


def card(runtime: Runtime, address: str, lesson_key: str) -> ReviewCard:
    from app.campaigns.models import Enrollment
    from app.employees.models import Employee

    with runtime.session_factory() as session:
        found = session.scalar(
            select(ReviewCard)
            .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
            .join(Employee, Employee.id == Enrollment.employee_id)
            .join(Lesson, Lesson.id == ReviewCard.lesson_id)
            .where(Employee.email == address, Lesson.key == lesson_key)
        )
        assert found is not None
        return found


def review_keys(message) -> list[str]:  # type: ignore[no-untyped-def]
    """Lesson keys of the questions in an e-mail, lesson question first."""
    return list(mail_links(message).answers)


def test_wrong_comes_back_sooner_right_later_and_unanswered_once_more(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> None:
    campaign_id = start(client, runtime, editor_headers)
    right = correct_options(runtime, "radikalisering")
    run_slots(runtime, clock, campaign_id, 1)
    clock.advance(minutes=30)
    answer(client, inbox(smtp_sink, ANNA)[0], "rad-01", right["rad-01"])
    answer(client, inbox(smtp_sink, ERIK)[0], "rad-01", (right["rad-01"] + 1) % 3)

    anna, erik = card(runtime, ANNA, "rad-01"), card(runtime, ERIK, "rad-01")
    assert erik.due < anna.due  # a wrong answer is re-asked sooner
    assert (anna.due - clock.now()).days >= 1

    run_slots(runtime, clock, campaign_id, 1)  # Wednesday
    erik_mail, johan_mail = inbox(smtp_sink, ERIK)[1], inbox(smtp_sink, JOHAN)[1]
    assert review_keys(erik_mail) == ["rad-02", "rad-01"]  # new lesson + the wrong one again
    assert review_keys(johan_mail) == ["rad-02", "rad-01"]  # unanswered: offered once more
    assert review_keys(inbox(smtp_sink, ANNA)[1]) == ["rad-02"]  # Anna's is not due yet
    html = erik_mail.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "Minns du?" in html
    assert "?lesson=rad-01" in html  # links to the original lesson

    # Johan ignores it again: it counts as not answered, is not rated, and comes last from now on.
    run_slots(runtime, clock, campaign_id, 1)
    johan = card(runtime, JOHAN, "rad-01")
    assert johan.fsrs_state is None and johan.offers_unanswered >= 2
    assert review_keys(inbox(smtp_sink, JOHAN)[2])[0] == "rad-03"


def test_card_retires_after_two_right_reviews_in_a_row(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> None:
    campaign_id = start(client, runtime, editor_headers)
    right = correct_options(runtime, "radikalisering")
    answered_reviews = 0
    for _ in range(30):
        run_slots(runtime, clock, campaign_id, 1)
        clock.advance(minutes=30)
        latest = inbox(smtp_sink, ANNA)[-1]
        for key in review_keys(latest):
            if key == "rad-01" or latest is inbox(smtp_sink, ANNA)[0]:
                answer(client, latest, key, right[key])
                answered_reviews += key == "rad-01"
        if card(runtime, ANNA, "rad-01").retired_at is not None:
            break
    first = card(runtime, ANNA, "rad-01")
    assert first.retired_reason == RetiredReason.mastered
    assert first.reviews == 2 and first.correct_streak == 2
    assert answered_reviews == 3  # the first answer plus two reviews
    mails_after = [m for m in inbox(smtp_sink, ANNA) if m["Date"].datetime > first.retired_at]
    run_slots(runtime, clock, campaign_id, 6)
    later = [m for m in inbox(smtp_sink, ANNA) if m["Date"].datetime > first.retired_at]
    assert all("rad-01" not in review_keys(m) for m in later + mails_after)


def test_review_only_emails_after_the_last_lesson_then_silence(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> None:
    campaign_id = start(client, runtime, editor_headers, max_reviews_per_email=2, retire_after=1)
    right = correct_options(runtime, "radikalisering")
    slots = 0
    while slots < 60:
        run_slots(runtime, clock, campaign_id, 1)
        slots += 1
        clock.advance(minutes=20)
        latest = inbox(smtp_sink, ANNA)[-1] if inbox(smtp_sink, ANNA) else None
        if latest is not None and latest["Date"].datetime > clock.now() - timedelta(hours=1):
            for key in review_keys(latest):
                answer(client, latest, key, right[key])
        with runtime.session_factory() as session:
            open_cards = session.scalar(
                select(ReviewCard).where(
                    ReviewCard.retired_at.is_(None), ReviewCard.fsrs_state.is_not(None)
                )
            )
        if slots > 12 and open_cards is None:
            break
    anna = inbox(smtp_sink, ANNA)
    assert len(anna) <= slots  # never more e-mails than slots
    review_only = [m for m in anna if str(m["Subject"]).startswith("Minns du?")]
    assert review_only, "after the twelfth lesson, review-only e-mails go on"
    assert all(len(review_keys(m)) <= 2 for m in review_only)  # max_reviews_per_email
    assert all(len(review_keys(m)) <= 3 for m in anna)  # the lesson's question + 2 reviews
    before = len(anna)
    run_slots(runtime, clock, campaign_id, 4)
    assert len(inbox(smtp_sink, ANNA)) == before  # every card of Anna's retired: silence


def test_late_second_and_double_answers_are_kept_but_move_nothing(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> None:
    campaign_id = start(client, runtime, editor_headers)
    right = correct_options(runtime, "radikalisering")
    run_slots(runtime, clock, campaign_id, 2)  # Erik's rad-01 is now carried by the second e-mail
    clock.advance(minutes=30)
    first_mail = inbox(smtp_sink, ERIK)[0]
    before = card(runtime, ERIK, "rad-01")
    answer(client, first_mail, "rad-01", right["rad-01"])  # an old e-mail
    after = card(runtime, ERIK, "rad-01")
    assert (after.due, after.fsrs_state) == (before.due, before.fsrs_state)

    second_mail = inbox(smtp_sink, ERIK)[1]
    links = mail_links(second_mail)
    page = client.get(links.answers["rad-01"][right["rad-01"]])
    action = page.text.split('action="')[1].split('"')[0]
    for _ in range(2):  # a double-clicked button: same second, same choice
        client.post(action, data={"option": str(right["rad-01"])})
    moved = card(runtime, ERIK, "rad-01")
    assert moved.fsrs_state is not None and moved.due > clock.now()
    clock.advance(seconds=5)
    client.post(action, data={"option": "0" if right["rad-01"] else "1"})  # a second attempt
    assert card(runtime, ERIK, "rad-01").due == moved.due
    with runtime.session_factory() as session:
        logs = session.scalars(
            select(ReviewLog).where(ReviewLog.card_id == moved.id).order_by(ReviewLog.id)
        ).all()
    assert [log.counted for log in logs] == [False, True, False]
    assert logs[1].response_delay_seconds > 0


def test_invalid_desired_retention_is_refused(
    client: TestClient, runtime: Runtime, editor_headers: dict
) -> None:
    sync_lessons(runtime)
    for value in (0.5, 0.99, "hög"):
        response = client.post(
            "/api/v1/campaigns", json={**BODY, "desired_retention": value}, headers=editor_headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "desired_retention"


def test_cancelling_retires_every_open_card(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> None:
    campaign_id = start(client, runtime, editor_headers)
    run_slots(runtime, clock, campaign_id, 2)
    assert card(runtime, JOHAN, "rad-01").retired_at is None
    client.post(f"/api/v1/campaigns/{campaign_id}/cancel", headers=editor_headers)
    assert card(runtime, JOHAN, "rad-01").retired_reason == RetiredReason.campaign_ended
