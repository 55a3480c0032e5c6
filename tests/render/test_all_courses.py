"""Every lesson e-mail of every bundled course, rendered for real and checked like a mail client."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, date, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from app.core.links import Links
from app.core.tokens import message_id, sign_delivery
from app.delivery.render import EmailContent, build_message, render_email
from app.lessons.content import LessonContent, QuestionContent
from app.lessons.loader import CourseFile, LessonFile, load_courses
from tests.conftest import REPO

BASE = "https://nanolearn.kommun.example"
SECRET = b"s" * 32
GMAIL_CLIP_BYTES = 100 * 1024  # Gmail clips messages over 102 KB; stay clearly below
COURSES = load_courses(REPO / "lessons")
CASES = [(c, lesson) for c in COURSES.courses for lesson in c.lessons]


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")


def render(course: CourseFile, lesson: LessonFile, delivery_id: int) -> tuple[EmailMessage, Links]:
    links = Links(BASE, sign_delivery(SECRET, delivery_id))
    content = EmailContent(
        language=course.language,
        course_title=course.title,
        help_md=course.help,
        first_name="Anna",
        lesson=LessonContent(
            key=lesson.key,
            title=lesson.title,
            key_point=lesson.key_point,
            body_md=lesson.body_md,
            what_you_do=lesson.what_you_do,
            read_more_url=lesson.read_more_url,
            read_more_title=lesson.read_more_title,
            sources=list(lesson.sources),
        ),
        questions=[
            QuestionContent(
                lesson_key=lesson.key,
                lesson_title=lesson.title,
                question=lesson.question,
                options=list(lesson.options),
                answer_urls=[links.answer(lesson.key, i) for i in range(len(lesson.options))],
                is_review=False,
                original_lesson_url=None,
            )
        ],
        view_url=links.view(),
        unsubscribe_url=links.unsubscribe(),
        sent_on=date(2026, 3, 3),
    )
    message = build_message(
        render_email(content),
        to_addr="anna.lind@kommun.example",
        to_name="Anna Lind",
        from_addr="Nanolearn <kurs@kommun.example>",
        message_id=message_id(SECRET, delivery_id, "kommun.example"),
        unsubscribe_url=links.unsubscribe(),
        date=datetime(2026, 3, 3, 7, tzinfo=UTC),
        language=course.language,
    )
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed, links


def test_all_bundled_courses_load_without_problems() -> None:
    assert COURSES.ok, [str(p) for p in COURSES.problems]
    assert {c.slug for c in COURSES.courses} >= {
        "radikalisering",
        "vald-i-nara-relationer",
        "radicalisation-en",
    }
    assert all(len(c.lessons) == 12 for c in COURSES.courses)


@pytest.mark.parametrize(("course", "lesson"), CASES, ids=[lesson.key for _, lesson in CASES])
def test_lesson_email_is_valid_small_linked_and_readable(
    course: CourseFile, lesson: LessonFile
) -> None:
    message, links = render(course, lesson, 4242)
    assert message.get_content_type() == "multipart/alternative"
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    html, text = html_part.get_content(), text_part.get_content()
    assert len(message.as_bytes()) < GMAIL_CLIP_BYTES
    assert f'lang="{course.language}"' in html

    anchors = _Anchors()
    anchors.feed(html)
    for href in anchors.hrefs:  # no broken links: each is ours, the lesson's read-more, or a phone
        parts = urlsplit(href)
        assert parts.scheme in ("https", "tel", "mailto"), href
        if href.startswith(BASE):
            assert re.fullmatch(r"/(l|u)/[\w-]+\.[\w-]+|/a/[\w-]+\.[\w-]+/[\w-]+/\d", parts.path), (
                href
            )
        elif parts.scheme == "https":
            assert href == lesson.read_more_url, f"unexpected outbound link {href}"
    for i, option in enumerate(lesson.options):  # every quiz option linked, in both parts
        url = links.answer(lesson.key, i)
        assert url in anchors.hrefs
        assert url in text
        assert option.split()[0] in text
    # The text part stands on its own: the point, the question, help and opt-out are all there.
    for needed in (lesson.title, lesson.question, links.unsubscribe(), links.view()):
        assert needed in text, needed
    if course.topic == "violence":
        assert "020-50 50 50" in text and "112" in text
        assert "020-50 50 50" in html


def test_english_course_has_english_fixed_texts() -> None:
    english = next(c for c in COURSES.courses if c.language == "en")
    message, _ = render(english, english.lessons[0], 1)
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "Tuesday 3 March 2026" in html
    assert text.startswith("Hi Anna!") and "Unsubscribe" in text
    assert "tisdag" not in html.lower() and "Hej" not in text
    assert message["Content-Language"] == "en"
