"""A 200 means it is stored, so a SIGKILL loses nothing that was answered.

A real `nanolearn serve` process answers lesson views, answer links and confirmed answers from
16 keep-alive connections over 2,000 sent e-mails; after about 1.5 s of load it is killed with
SIGKILL. Then the database must hold every answer whose confirm was answered 200 (with the
option chosen) and, for each e-mail, at least as many views and answer clicks as were answered
200. Requests the server stored but could not answer before it died are allowed: the check goes
one way. Only HTTP and the events and answers tables are used, not how the server writes them.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select, update

from app.campaigns.schemas import CampaignCreate
from app.campaigns.service import create_campaign, transition
from app.core.clock import FakeClock
from app.core.config import Settings
from app.core.db import make_session_factory
from app.core.links import Links
from app.core.runtime import Runtime
from app.delivery.jobs import plan_once
from app.employees.importer import EmployeeRow
from app.employees.staff_import import import_employees
from app.lessons.content import load_versions
from app.lessons.service import sync_from_settings
from app.outbox.models import Delivery, DeliveryStatus, delivery_items
from app.tracking.models import Answer, Event
from tests.conftest import TEST_SECRET
from tests.flow import BROWSER_UA
from tests.smtp_server import free_port

NANOLEARN = str(Path(sys.executable).parent / "nanolearn")
EMAILS = 2000  # far more than the load reaches: every confirm is for an e-mail of its own
CONNECTIONS = 16
LOAD_SECONDS = 1.5  # of load before the kill, or half the e-mails (a wait, not an assertion)
LEAST_ANSWERED = 100  # 200s before the kill, or the test proves nothing


@dataclass(frozen=True)
class Mail:
    delivery_id: int
    lesson_id: int
    view: str
    answers: list[str]
    post: str


def _first_slot() -> datetime:
    """A Monday 09:00 UTC a few weeks ahead of the real clock: the server's own scheduler (on
    the real clock) has nothing to plan or send while the test runs."""
    day = date.today() + timedelta(days=21)
    day += timedelta(days=-day.weekday())
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


def sent_mails(settings: Settings, engine: Engine, count: int) -> list[Mail]:
    """`count` employees in a running campaign whose first e-mails were sent an hour ago, through
    the real services and planner; the links of each e-mail as app/core/links.py makes them."""
    slot = _first_slot()
    clock = FakeClock(slot - timedelta(hours=3))
    runtime = Runtime(settings, engine, make_session_factory(engine), clock)
    rows = [
        EmployeeRow(i + 2, f"person{i}@kommun.example", f"Förnamn{i}", "Efternamn", "Avd", None)
        for i in range(count)
    ]
    body = CampaignCreate.model_validate(
        {
            "name": "SIGKILL",
            "course": "radikalisering",
            "schedule": {
                "start_date": slot.date().isoformat(),
                "weekdays": ["mon"],
                "time": "09:00",
                "timezone": "UTC",
            },
        }
    )
    with runtime.session_factory() as session:
        sync_from_settings(session, settings, clock.now())
        import_employees(session, rows, mode="upsert", dry_run=False, now=clock.now())
        campaign = create_campaign(session, body, clock.now())
        transition(session, campaign, "start", clock.now())
        session.commit()
    clock.set(slot + timedelta(minutes=1))
    report = plan_once(runtime)
    assert report is not None and report.planned == count, report
    mails = []
    with runtime.session_factory() as session:
        sent_at = datetime.now(UTC) - timedelta(hours=1)
        session.execute(
            update(Delivery).values(status=DeliveryStatus.sent, sent_at=sent_at, attempts=1)
        )
        session.commit()
        deliveries = session.scalars(select(Delivery).order_by(Delivery.id)).all()
        versions = load_versions(
            session, {(lid, h) for d in deliveries for lid, h, _ in delivery_items(d)}
        )
        for d in deliveries:
            lesson_id, content_hash, _ = delivery_items(d)[0]
            item = versions[(lesson_id, content_hash)]
            links = Links.for_delivery("", settings.secret(), d.id)
            options = range(len(item.version.options))
            mails.append(
                Mail(
                    d.id,
                    lesson_id,
                    links.view(),
                    [links.answer(item.key, i) for i in options],
                    links.answer_post(item.key),
                )
            )
    return mails


def _env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NANOLEARN_")}
    return env | {
        "NANOLEARN_DATABASE_URL": settings.database_url,
        "NANOLEARN_SECRET_KEY": TEST_SECRET,
        "NANOLEARN_DATA_DIR": str(tmp_path / "serve-data"),
        "NANOLEARN_LESSONS_DIR": str(settings.lessons_dir),
        "NANOLEARN_SMTP_URL": settings.smtp_url,
        "NANOLEARN_MAIL_FROM": settings.mail_from,
        # The limiter still runs for every request; it just does not stop this load.
        "NANOLEARN_PUBLIC_RATE_PER_ADDRESS": "10000000",
        "NANOLEARN_PUBLIC_RATE_PER_TOKEN": "10000000",
    }


@contextmanager
def serving(
    env: dict[str, str], log: Path, workers: int = 1
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`nanolearn serve` on a free port, in a process group of its own, once /healthz answers."""
    for _ in range(3):  # a free port may be taken by someone else before the server binds it
        port = free_port()
        with log.open("ab") as handle:
            process = subprocess.Popen(
                [NANOLEARN, "serve", "--host", "127.0.0.1", "--port", str(port)]
                + (["--workers", str(workers)] if workers > 1 else []),
                env=env,
                cwd=log.parent,
                stdout=handle,
                stderr=handle,
                start_new_session=True,
            )
        if _healthy(process, port):
            break
        _kill(process)
    else:
        pytest.fail(f"nanolearn serve did not start:\n{log.read_text()}")
    try:
        yield process, port
    finally:
        _kill(process)


def _healthy(process: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            time.sleep(0.1)
    return False


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the server and anything it started (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@dataclass
class Load:
    """What the clients saw. `answered` holds (page, mail index, option) of every 200."""

    port: int
    mails: list[Mail]
    answered: list[tuple[str, int, int]] = field(default_factory=list)
    other_status: list[tuple[str, int]] = field(default_factory=list)
    failed_after_kill: list[float] = field(default_factory=list)  # when each was sent
    died_at: float | None = None  # when the server was seen dead
    failed_before_kill: list[str] = field(default_factory=list)
    killed_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_mail: int = 0

    def take(self) -> int | None:
        with self.lock:
            if self.next_mail >= len(self.mails):
                return None
            self.next_mail += 1
            return self.next_mail - 1

    def client(self) -> None:
        """One keep-alive connection: for each e-mail it takes, the lesson view, for 2 in 3 an
        answer link and for 1 in 3 (of those) the confirm too, as a reader would click."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            while (index := self.take()) is not None:
                mail = self.mails[index]
                option = index % len(mail.answers)
                steps = [("view", "GET", mail.view)]
                if index % 3:
                    steps.append(("click", "GET", mail.answers[option]))
                if index % 3 == 2:
                    steps.append(("confirm", "POST", mail.post))
                for page, method, path in steps:
                    if not self.send(connection, page, method, path, index, option):
                        return
        finally:
            connection.close()

    def send(
        self,
        connection: http.client.HTTPConnection,
        page: str,
        method: str,
        path: str,
        index: int,
        option: int,
    ) -> bool:
        """One request; False once the server is gone."""
        headers = {"User-Agent": BROWSER_UA}
        body = None
        if method == "POST":
            body = f"option={option}"
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        sent = time.monotonic()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as error:
            with self.lock:
                if self.killed_at is None:
                    self.failed_before_kill.append(repr(error))
                else:
                    self.failed_after_kill.append(sent)
            return False
        with self.lock:
            if response.status == 200:
                self.answered.append((page, index, option))
            else:
                self.other_status.append((page, response.status))
        return True


def kill_under_load(process: subprocess.Popen[bytes], load: Load) -> None:
    threads = [threading.Thread(target=load.client) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    while (
        time.monotonic() - started < LOAD_SECONDS and load.next_mail < len(load.mails) // 2
    ) or len(load.answered) < LEAST_ANSWERED:
        assert time.monotonic() - started < 30, f"only {len(load.answered)} answered in 30 s"
        time.sleep(0.05)
    with load.lock:  # every request sent from here on is one the kill may cut off
        load.killed_at = time.monotonic()
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    load.died_at = time.monotonic()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive()


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2], ids=["one process", "serve --workers 2"])
def test_a_sigkill_under_load_loses_nothing_that_was_answered(
    settings: Settings, engine: Engine, tmp_path: Path, workers: int
) -> None:
    mails = sent_mails(settings, engine, EMAILS)
    env = _env(settings, tmp_path)
    with serving(env, tmp_path / "serve.log", workers) as (process, port):
        load = Load(port, mails)
        kill_under_load(process, load)

    # The load was real, and the kill cut requests off in the middle of it.
    assert not load.failed_before_kill, load.failed_before_kill[:3]
    assert not load.other_status, load.other_status[:10]
    answered = Counter(page for page, _, _ in load.answered)
    assert sum(answered.values()) >= LEAST_ANSWERED, answered
    assert answered["view"] and answered["click"] and answered["confirm"], answered
    # Sent before the server was seen dead and never answered: the kill cut it off.
    assert load.died_at is not None
    cut_off = [sent for sent in load.failed_after_kill if sent < load.died_at]
    assert cut_off, "the kill cut off no request: it came after the load"
    assert load.next_mail < len(mails), "the e-mails ran out before the kill"

    # Every confirm answered 200 has its answer, with the option chosen.
    with engine.connect() as conn:
        stored_answers = set(
            conn.execute(select(Answer.delivery_id, Answer.lesson_id, Answer.option_index)).all()
        )
        events = Counter(
            {
                (delivery, str(kind)): n
                for delivery, kind, n in conn.execute(
                    select(Event.delivery_id, Event.kind, func.count()).group_by(
                        Event.delivery_id, Event.kind
                    )
                ).all()
            }
        )
    confirmed = [(mails[i], option) for page, i, option in load.answered if page == "confirm"]
    lost_answers = [
        (m.delivery_id, option)
        for m, option in confirmed
        if (m.delivery_id, m.lesson_id, option) not in stored_answers
    ]
    assert not lost_answers, f"{len(lost_answers)} of {len(confirmed)} answers lost"

    # Each e-mail has at least as many views and clicks stored as were answered 200.
    kinds = {"view": "view", "click": "answer_click"}
    wanted = Counter(
        (mails[i].delivery_id, kinds[page]) for page, i, _ in load.answered if page in kinds
    )
    lost_events = {key: n - events[key] for key, n in wanted.items() if events[key] < n}
    assert not lost_events, f"{len(lost_events)} (delivery, kind) miss events: {lost_events}"
