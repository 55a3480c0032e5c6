"""Public pages employees reach from e-mail links: complete HTML documents as strings.

The pages use no JavaScript, no inline styles and one stylesheet (/static/site.css), so they
work under a strict Content-Security-Policy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from functools import partial
from typing import Any

from app.core.i18n import normalize_language, t
from app.core.templates import get_template
from app.lessons.content import LessonContent, QuestionContent


def lesson_page(
    *,
    language: str,
    course_title: str,
    help_md: str,
    lesson: LessonContent,
    questions: list[QuestionContent],
    local_help_md: str = "",
) -> str:
    """The lesson in the browser, with the same answer links as the e-mail."""
    return _render(
        "lesson.html",
        language,
        course_title=course_title,
        help_md=help_md,
        local_help_md=local_help_md,
        lesson=lesson,
        questions=questions,
    )


def answer_confirm_page(
    *, language: str, question: QuestionContent, selected: int, post_url: str
) -> str:
    """The answer chosen in the e-mail, preselected; nothing is saved until they press the button."""
    return _render(
        "answer_confirm.html", language, question=question, selected=selected, post_url=post_url
    )


def answer_result_page(
    *,
    language: str,
    question: QuestionContent,
    selected: int,
    correct_index: int,
    explanation: str,
    attempt: int,
    lesson_url: str | None,
) -> str:
    """Right or wrong in words, the right answer and why."""
    return _render(
        "answer_result.html",
        language,
        question=question,
        is_right=selected == correct_index,
        selected_text=_option_text(question, selected),
        correct_text=_option_text(question, correct_index),
        explanation=explanation,
        attempt=attempt,
        lesson_url=lesson_url,
    )


def unsubscribe_page(*, language: str, course_title: str, post_url: str | None, done: bool) -> str:
    """Asks for a confirming click (mail scanners follow links), or confirms it is done."""
    return _render(
        "unsubscribe.html", language, course_title=course_title, post_url=post_url, done=done
    )


def message_page(*, language: str, title: str, text: str) -> str:
    """A short notice, e.g. that a link was not found or has expired."""
    return _render("message.html", language, title=title, text=text)


def _option_text(question: QuestionContent, index: int) -> str:
    return question.options[index] if 0 <= index < len(question.options) else ""


def _render(name: str, language: str, **context: Any) -> str:
    code = normalize_language(language)
    return get_template(f"pages/{name}").render(lang=code, t=partial(t, code), **context)


# Stands for the e-mail's token in a cached page (URL-safe, never part of a real token, which
# is base64url without "~").
TOKEN_MARK = "~token~"


class PageCache:
    """Pages rendered once with TOKEN_MARK where the e-mail's token goes, then copied with the
    token put in: every e-mail of a slot gets the same lesson page but for its links.

    A key holds everything the page shows (course, lesson versions, the campaign's help), so a
    changed course makes a new key, never a stale page. Bounded; one per serving process."""

    def __init__(self, max_entries: int = 2048) -> None:
        self.max_entries = max_entries
        # Each page split at TOKEN_MARK: joining the parts with the token is a copy, where a
        # replace searched the whole page (3 µs of a view's CPU, docs/benchmarks.md).
        self._pages: dict[Hashable, list[str]] = {}
        self._lock = threading.Lock()

    def page(self, key: Hashable, token: str, render: Callable[[str], str]) -> str:
        """The page for `key` with `token` in its links; `render(TOKEN_MARK)` makes it once."""
        parts = self._pages.get(key)
        if parts is None:
            parts = render(TOKEN_MARK).split(TOKEN_MARK)
            with self._lock:
                if len(self._pages) >= self.max_entries:
                    self._pages.clear()
                self._pages[key] = parts
        return token.join(parts)
