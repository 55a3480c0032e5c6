"""The same confirm sent at once, or double-clicked, through a real server (uvicorn on
127.0.0.1): one first answer per e-mail, one counted review log, and the funnel adds up."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from email.message import EmailMessage

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.clock import Clock, FakeClock
from app.core.runtime import Runtime
from app.learning.models import ReviewLog
from app.main import create_app
from app.tracking.models import Answer
from app.tracking.ratelimit import PublicLimits
from app.tracking.service import REPEAT_SECONDS
from tests.a11y.browser import live_server
from tests.flow import BROWSER_UA, correct_options, inbox, mail_links, run_slots, sync_lessons
from tests.smtp_server import SmtpSink
from tests.tracking.campaign import CAMPAIGN, delivery_id, reports

PEOPLE = 24
AT_ONCE = 8  # identical confirms per e-mail, released together


class SteppingClock:
    """Every reading is `step` later than the one before, so requests sent at the same moment
    still read different times, as on a real server where they straddle a second."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        self._now = start
        self._step = step
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            self._now += self._step
            return self._now


def send_lessons(
    runtime: Runtime, client: TestClient, clock: FakeClock, sink: SmtpSink, headers: dict[str, str]
) -> tuple[int, list[EmailMessage]]:
    """PEOPLE employees, a campaign, and the first lesson e-mail to each of them."""
    sync_lessons(runtime)
    addresses = [f"person{i}@kommun.example" for i in range(PEOPLE)]
    rows = "".join(f"Person;Nummer{i};{a};Socialförvaltningen\n" for i, a in enumerate(addresses))
    staff = "Förnamn;Efternamn;E-post;Förvaltning\n" + rows
    imported = client.post(
        "/api/v1/employees/import",
        files={"file": ("personal.csv", staff.encode(), "text/csv")},
        headers=headers,
    )
    assert imported.status_code == 200, imported.text
    created = client.post("/api/v1/campaigns", json=CAMPAIGN, headers=headers)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    assert client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=headers).status_code == 200
    assert run_slots(runtime, clock, campaign_id, 1) == PEOPLE
    return campaign_id, [inbox(sink, a)[0] for a in addresses]


def confirm_path(runtime: Runtime, message: EmailMessage) -> str:
    """The path the confirm button posts to: /a/<token>/<lesson key>."""
    [(_key, urls)] = mail_links(message).answers.items()
    return urls[0].removeprefix(runtime.settings.base_url).rsplit("/", 1)[0]


def right_option(runtime: Runtime, message: EmailMessage) -> int:
    [key] = mail_links(message).answers
    return correct_options(runtime, CAMPAIGN["course"])[key]


def serve(runtime: Runtime, clock: Clock) -> FastAPI:
    """The app as `nanolearn serve` runs it, with limits that let the test's traffic through."""
    app = create_app(runtime)
    app.state.clock = clock
    app.state.public_limits = PublicLimits(1_000_000, 1_000_000)
    return app


def stored(runtime: Runtime) -> tuple[Counter[int], Counter[int], Counter[int], Counter[int]]:
    """Per delivery: answers, first answers, review logs and counted review logs."""
    with runtime.session_factory() as session:
        answers = session.execute(select(Answer.delivery_id, Answer.attempt)).all()
        logs = session.execute(select(ReviewLog.delivery_id, ReviewLog.counted)).all()
    return (
        Counter(d for d, _ in answers),
        Counter(d for d, attempt in answers if attempt == 1),
        Counter(d for d, _ in logs),
        Counter(d for d, counted in logs if counted),
    )


def test_identical_confirms_at_the_same_moment_store_one_first_answer(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> None:
    campaign_id, mails = send_lessons(runtime, client, clock, smtp_sink, editor_headers)
    # 50 ms between readings: the AT_ONCE requests of one e-mail span well under REPEAT_SECONDS.
    ticking = SteppingClock(clock.now() + timedelta(minutes=20), timedelta(milliseconds=50))
    app = serve(runtime, ticking)

    def post(base: str, path: str, option: int, ready: threading.Barrier) -> httpx.Response:
        with httpx.Client(base_url=base, headers={"User-Agent": BROWSER_UA}) as http:
            ready.wait()
            return http.post(path, data={"option": str(option)})

    responses: list[httpx.Response] = []
    with live_server(app) as base, ThreadPoolExecutor(AT_ONCE) as pool:
        for mail in mails:
            ready = threading.Barrier(AT_ONCE)
            path, option = confirm_path(runtime, mail), right_option(runtime, mail)
            futures = [pool.submit(post, base, path, option, ready) for _ in range(AT_ONCE)]
            responses += [f.result(timeout=60) for f in futures]

    answers, firsts, logs, counted = stored(runtime)
    deliveries = [delivery_id(runtime, mail) for mail in mails]
    assert [firsts[d] for d in deliveries] == [1] * PEOPLE
    assert [counted[d] for d in deliveries] == [1] * PEOPLE
    assert [(answers[d], logs[d]) for d in deliveries] == [(1, 1)] * PEOPLE
    assert {r.status_code for r in responses} == {200}
    # Every click sees the same result: the first answer, not a new attempt.
    assert [r for r in responses if "nytt försök" in r.text] == []
    funnel = reports(client, campaign_id, editor_headers)["funnel"]
    assert (funnel["answered"], funnel["correct"]) == (PEOPLE, PEOPLE)


def test_a_double_click_150_ms_apart_stores_one_answer(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> None:
    _campaign_id, mails = send_lessons(runtime, client, clock, smtp_sink, editor_headers)
    start = clock.now().replace(microsecond=0) + timedelta(minutes=20)
    with live_server(serve(runtime, clock)) as base, httpx.Client(base_url=base) as http:
        for i, mail in enumerate(mails):
            # The first click at every 1/PEOPLE of a second: some double-clicks cross a second.
            clock.set(start + timedelta(minutes=i, seconds=i / PEOPLE))
            path, option = confirm_path(runtime, mail), right_option(runtime, mail)
            first = http.post(path, data={"option": str(option)})
            clock.advance(seconds=0.15)
            second = http.post(path, data={"option": str(option)})
            assert (first.status_code, second.status_code) == (200, 200)
            assert "nytt försök" not in second.text

    answers, firsts, logs, counted = stored(runtime)
    deliveries = [delivery_id(runtime, mail) for mail in mails]
    assert [answers[d] for d in deliveries] == [1] * PEOPLE
    assert [(firsts[d], logs[d], counted[d]) for d in deliveries] == [(1, 1, 1)] * PEOPLE


def test_a_changed_choice_or_a_late_repeat_is_a_new_attempt(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> None:
    _campaign_id, mails = send_lessons(runtime, client, clock, smtp_sink, editor_headers)
    clock.advance(minutes=20)
    with live_server(serve(runtime, clock)) as base, httpx.Client(base_url=base) as http:
        changed, late = mails[0], mails[1]
        path, option = confirm_path(runtime, changed), right_option(runtime, changed)
        assert http.post(path, data={"option": str(option)}).status_code == 200
        clock.advance(seconds=1)
        other = http.post(path, data={"option": str(1 - min(option, 1))})
        assert "nytt försök" in other.text
        path, option = confirm_path(runtime, late), right_option(runtime, late)
        assert http.post(path, data={"option": str(option)}).status_code == 200
        clock.advance(seconds=REPEAT_SECONDS + 1)
        again = http.post(path, data={"option": str(option)})
        assert "nytt försök" in again.text

    answers, firsts, logs, counted = stored(runtime)
    for mail in (changed, late):
        d = delivery_id(runtime, mail)
        assert (answers[d], firsts[d], logs[d], counted[d]) == (2, 1, 2, 1)
