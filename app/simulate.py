"""`nanolearn simulate`: synthetic learners against the real planner, dispatcher, rendering and
an SMTP sink, on a virtual clock, to compare FSRS spacing with no reviews.

A learner ignores each e-mail with some chance. Reading a lesson starts a memory of it, and
answering a question (with the explanation shown) strengthens that memory, more when recall was
hard (the spacing effect). Recall decays as R = 0.9 ** (days / stability). Answers go through the
same service as the confirm page; the figures compared are the expected recall of every lesson
at the end.
"""

from __future__ import annotations

import asyncio
import email
import math
import random
import re
import tempfile
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import insert

from app.campaigns import service as campaigns
from app.campaigns.schemas import CampaignCreate
from app.core.clock import FakeClock
from app.core.config import Settings
from app.core.db import make_engine, make_session_factory
from app.core.migrate import upgrade
from app.core.runtime import Runtime
from app.delivery.dispatcher import Dispatcher
from app.delivery.jobs import plan_once
from app.delivery.transport import make_transport
from app.employees.models import Employee
from app.lessons.service import sync_from_settings
from app.tracking.service import open_delivery, record_answer

ANSWER_LINK = re.compile(r'href="[^"]*/a/([\w-]+\.[\w-]+)/([\w-]+)/(\d+)"')
LESSON_LINK = re.compile(
    r'href="[^"]*/l/[\w-]+\.[\w-]+"'
)  # "read in the browser": lesson e-mails only
FIRST_STABILITY_DAYS = 2.0


@dataclass
class Memory:
    stability: float
    last_exposure: datetime

    def recall(self, when: datetime) -> float:
        days = max(0.0, (when - self.last_exposure).total_seconds() / 86400)
        return 0.9 ** (days / self.stability)


@dataclass
class Learner:
    rng: random.Random
    ignore_chance: float
    ability: float
    memories: dict[str, Memory] = field(default_factory=dict)

    def read(self, lesson: str, now: datetime) -> None:
        if lesson not in self.memories:
            self.memories[lesson] = Memory(FIRST_STABILITY_DAYS * math.exp(0.3 * self.ability), now)

    def answers_right(self, lesson: str, options: int, now: datetime) -> bool:
        memory = self.memories.get(lesson)
        recall = memory.recall(now) if memory else 0.0
        right = self.rng.random() < recall + (1 - recall) / options
        if memory is None:  # the feedback page teaches it
            self.read(lesson, now)
        elif right:
            memory.stability *= 1.3 + 2.5 * (1 - recall)
            memory.last_exposure = now
        else:
            memory.stability = max(FIRST_STABILITY_DAYS, memory.stability * 0.6)
            memory.last_exposure = now
        return right


@dataclass
class ArmResult:
    name: str
    emails: int
    max_per_week: int
    slots_per_week: int
    emails_per_learner_week: float
    reviews_per_lesson: float
    expected_recall: float


class _Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(
                (envelope.rcpt_tos[0], envelope.content.decode("utf-8", "replace"))
            )
        return "250 OK"

    def take(self) -> list[tuple[str, str]]:
        with self.lock:
            taken, self.messages = self.messages, []
        return taken


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _html_of(raw: str) -> str:
    # The legacy parser: the modern policy parses every header, which cost most of the run.
    message = email.message_from_string(raw)
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


def run_arm(
    name: str,
    *,
    course: str,
    learners: int,
    weeks: int,
    weekdays: list[str],
    at: str,
    max_reviews: int,
    seed: int,
    lessons_dir: Path,
    progress: Callable[[int, int], None] | None = None,
) -> ArmResult:
    with tempfile.TemporaryDirectory(prefix="nanolearn-sim-") as tmp:
        sink = _Sink()
        port = _free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            settings = Settings(
                _env_file=None,
                data_dir=Path(tmp),
                database_url=f"sqlite:///{tmp}/sim.db",
                smtp_url=f"smtp://127.0.0.1:{port}",
                secret_key="sim-" + "x" * 40,
                base_url="http://sim.invalid",
                lessons_dir=lessons_dir,
                smtp_concurrency=8,
                dispatch_batch_size=1000,
            )
            return _play(
                name,
                settings,
                course,
                learners,
                weeks,
                weekdays,
                at,
                max_reviews,
                seed,
                sink,
                progress,
            )
        finally:
            controller.stop()


def _play(
    name: str,
    settings: Settings,
    course: str,
    learners: int,
    weeks: int,
    weekdays: list[str],
    at: str,
    max_reviews: int,
    seed: int,
    sink: _Sink,
    progress: Callable[[int, int], None] | None,
) -> ArmResult:
    start_day = date(2026, 1, 5)  # a Monday, away from holidays and DST
    clock = FakeClock(datetime(2026, 1, 4, 12, tzinfo=UTC))
    engine = make_engine(settings.database_url)
    upgrade(engine)
    runtime = Runtime(settings, engine, make_session_factory(engine), clock)
    population = {
        f"learner{i}@sim.example": Learner(
            random.Random(seed * 7919 + i),
            random.Random(seed + i).uniform(0.05, 0.35),
            random.Random(seed - i).gauss(0, 1),
        )
        for i in range(learners)
    }
    with runtime.session_factory() as session:
        sync_from_settings(session, settings, clock.now())
        now = clock.now()
        session.execute(
            insert(Employee),
            [
                {
                    "email": address,
                    "first_name": "Test",
                    "last_name": str(i),
                    "department": f"Avd {i % 4}",
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, address in enumerate(population)
            ],
        )
        body = CampaignCreate.model_validate(
            {
                "name": name,
                "course": course,
                "max_reviews_per_email": max_reviews,
                "schedule": {
                    "start_date": start_day.isoformat(),
                    "weekdays": weekdays,
                    "time": at,
                    "end_date": (start_day + timedelta(weeks=weeks, days=-1)).isoformat(),
                },
            }
        )
        campaign = campaigns.create_campaign(session, body, now)
        campaigns.transition(session, campaign, "start", now)
        session.commit()
        campaign_id = campaign.id
    loop = asyncio.new_event_loop()
    pool = make_transport(runtime.settings)
    dispatcher = Dispatcher(runtime, pool, "simulation")
    per_week: Counter[tuple[str, int]] = Counter()
    asked: Counter[tuple[str, str]] = Counter()
    secret = settings.secret()
    slot_count = len(weekdays) * weeks
    try:
        for done in range(slot_count):
            with runtime.session_factory() as session:
                slot = campaigns.schedule_of(
                    campaigns.get_campaign(session, campaign_id)
                ).next_slot(clock.now())
            if slot is None:
                break
            clock.set(slot + timedelta(minutes=1))
            plan_once(runtime)
            loop.run_until_complete(dispatcher.drain())
            clock.set(slot + timedelta(hours=2))
            with runtime.session_factory() as session:
                for address, raw in sink.take():
                    per_week[(address, slot.isocalendar().week)] += 1
                    _learner_acts(
                        session,
                        address,
                        population[address],
                        _html_of(raw),
                        secret,
                        clock.now(),
                        asked,
                    )
                session.commit()
            if progress:
                progress(done + 1, slot_count)
    finally:
        loop.run_until_complete(pool.close())
        loop.close()
        engine.dispose()
    end = clock.now()
    lessons = {key for (_, key) in asked}
    recall = [
        learner.memories[key].recall(end) if key in learner.memories else 0.0
        for learner in population.values()
        for key in lessons
    ]
    emails = sum(per_week.values())
    reviews = sum(n - 1 for n in asked.values() if n > 1)
    return ArmResult(
        name=name,
        emails=emails,
        max_per_week=max(per_week.values(), default=0),
        slots_per_week=len(weekdays),
        emails_per_learner_week=emails / (learners * weeks),
        reviews_per_lesson=reviews / max(1, learners * len(lessons)),
        expected_recall=sum(recall) / max(1, len(recall)),
    )


def _learner_acts(
    session: Any,
    address: str,
    learner: Learner,
    html: str,
    secret: bytes,
    now: datetime,
    asked: Counter[tuple[str, str]],
) -> None:
    links = ANSWER_LINK.findall(html)
    if not links:
        return
    token = links[0][0]
    options: dict[str, int] = defaultdict(int)
    for _, key, _option in links:
        options[key] += 1
    ordered = list(dict.fromkeys(key for _, key, _ in links))
    for key in ordered:
        asked[(address, key)] += 1
    if learner.rng.random() < learner.ignore_chance:
        return
    opened = open_delivery(session, secret, token)
    if opened is None:
        return
    if LESSON_LINK.search(html):  # a lesson e-mail: the first question is the new lesson
        learner.read(ordered[0], now)
    for key in ordered:
        question = opened.question(key)
        if question is None:
            continue
        version = question.item.version
        right = learner.answers_right(key, options[key], now)
        wrong = [i for i in range(len(version.options)) if i != version.correct_index]
        choice = version.correct_index if right else learner.rng.choice(wrong)
        record_answer(session, opened, question, choice, now)
