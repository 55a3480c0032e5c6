"""Drive the real scheduler jobs against a fake clock, and read what employees received."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.delivery.dispatcher import Dispatcher, DispatchReport
from app.delivery.jobs import plan_once
from app.delivery.transport import make_transport
from app.employees.models import Employee
from app.lessons.service import sync_from_settings

BROWSER_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def sync_lessons(runtime: Runtime) -> None:
    with runtime.session_factory() as session:
        sync_from_settings(session, runtime.settings, runtime.clock.now())
        session.commit()


def add_staff(runtime: Runtime, department: str, count: int, *, prefix: str = "p") -> None:
    """`count` active people in `department`, straight into the database."""
    now = runtime.clock.now()
    with runtime.session_factory() as session:
        session.add_all(
            Employee(
                email=f"{prefix}{i}.{abs(hash(department)) % 10_000}@kommun.example",
                first_name=f"Person{i}",
                last_name=department,
                department=department,
                created_at=now,
                updated_at=now,
            )
            for i in range(count)
        )
        session.commit()


def tick(runtime: Runtime) -> DispatchReport:
    """One scheduler round at the clock's current time: plan, then send everything due."""
    plan_once(runtime)

    async def send() -> DispatchReport:
        pool = make_transport(runtime.settings, clock=runtime.clock)
        try:
            return await Dispatcher(runtime, pool, "test-worker").drain()
        finally:
            await pool.close()

    return asyncio.run(send())


def run_until(
    runtime: Runtime, clock: FakeClock, until: datetime, step: timedelta = timedelta(minutes=30)
) -> int:
    """Advance the clock to `until` in steps, ticking the scheduler at every step."""
    sent = 0
    while clock.now() < until:
        clock.advance(min(step, until - clock.now()))
        sent += tick(runtime).sent
    return sent


def next_slot(runtime: Runtime, campaign_id: int) -> datetime | None:
    from app.campaigns.models import Campaign
    from app.campaigns.service import schedule_of

    with runtime.session_factory() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return schedule_of(campaign).next_slot(runtime.clock.now())


def run_slots(
    runtime: Runtime,
    clock: FakeClock,
    campaign_id: int,
    count: int,
    after: timedelta = timedelta(minutes=5),
) -> int:
    """Jump to just after each of the campaign's next `count` slots and tick there."""
    sent = 0
    for _ in range(count):
        slot = next_slot(runtime, campaign_id)
        assert slot is not None, "the campaign has no more slots"
        clock.set(slot + after)
        sent += tick(runtime).sent
    return sent


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def html_links(message: EmailMessage) -> list[str]:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "the e-mail has no HTML part"
    parser = _Links()
    parser.feed(part.get_content())
    return parser.hrefs


@dataclass(frozen=True)
class MailLinks:
    view: str | None  # None in a review-only e-mail
    answers: dict[str, list[str]]  # lesson key -> answer URL per option
    unsubscribe: str


def mail_links(message: EmailMessage) -> MailLinks:
    hrefs = html_links(message)
    answers: dict[str, list[str]] = {}
    for href in hrefs:
        match = re.search(r"/a/[^/]+/([^/]+)/(\d+)$", href)
        if match:
            answers.setdefault(match.group(1), []).append(href)
    view = next((h for h in hrefs if re.search(r"/l/[^/?]+$", h)), None)
    unsubscribe = next(h for h in hrefs if "/u/" in h)
    return MailLinks(view, answers, unsubscribe)


def form_action(html: str) -> str:
    match = re.search(r'<form[^>]*action="([^"]+)"', html)
    assert match, "no form on the page"
    return match.group(1)


def correct_options(runtime: Runtime, course_slug: str) -> dict[str, int]:
    """Lesson key -> index of the right option, from the database."""
    from app.lessons.service import get_course

    with runtime.session_factory() as session:
        course = get_course(session, course_slug)
        assert course is not None
        return {item.lesson.key: item.version.correct_index for item in course.lessons}


def answer(client, message: EmailMessage, lesson_key: str, option: int):  # type: ignore[no-untyped-def]
    """Click an answer link in the e-mail and confirm it, as a person on a phone would."""
    links = mail_links(message)
    page = client.get(links.answers[lesson_key][option], headers={"User-Agent": BROWSER_UA})
    assert page.status_code == 200, page.text
    return client.post(
        form_action(page.text), data={"option": str(option)}, headers={"User-Agent": BROWSER_UA}
    )


def inbox(sink, address: str) -> list[EmailMessage]:  # type: ignore[no-untyped-def]
    return [r.message for r in sink.received if address in r.rcpt_tos]
