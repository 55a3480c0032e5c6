"""Public pages: complete documents, accessible forms, no inline CSS (strict CSP)."""

from __future__ import annotations

import re

import pytest

from app.tracking.pages import (
    answer_confirm_page,
    answer_result_page,
    lesson_page,
    message_page,
    unsubscribe_page,
)
from tests.render import samples


def all_pages() -> list[str]:
    q = samples.question()
    return [
        lesson_page(
            language="sv",
            course_title="Kursen",
            help_md=samples.HELP_MD,
            lesson=samples.lesson(),
            questions=[q, samples.question(review=True)],
        ),
        answer_confirm_page(language="sv", question=q, selected=1, post_url="/a/tok/svar"),
        answer_result_page(
            language="sv",
            question=q,
            selected=0,
            correct_index=0,
            explanation="Hot är ett brott.",
            attempt=1,
            lesson_url=None,
        ),
        unsubscribe_page(language="sv", course_title="Kursen", post_url="/u/tok", done=False),
        unsubscribe_page(language="sv", course_title="Kursen", post_url=None, done=True),
        message_page(language="sv", title="Länken fungerar inte", text="Den kan ha gått ut."),
    ]


@pytest.mark.parametrize("page", all_pages(), ids=lambda page: page.split("<title>")[1][:30])
def test_page_is_a_strict_csp_friendly_document(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="sv">' in page
    assert page.count("<h1") == 1
    assert '<link rel="stylesheet" href="/static/site.css">' in page
    assert '<meta name="viewport"' in page
    assert "<style" not in page
    assert not re.search(r"\sstyle=", page)
    assert "<script" not in page
    assert not re.search(r"\son\w+=", page)  # no inline event handlers


def test_confirm_page_form() -> None:
    q = samples.question()
    page = answer_confirm_page(
        language="sv", question=q, selected=2, post_url="/a/tok/svar?x=1&y=2"
    )
    assert '<form method="post" action="/a/tok/svar?x=1&amp;y=2">' in page
    assert "<fieldset>" in page and f'<legend class="question">{q.question}</legend>' in page
    radios = re.findall(r"<input [^>]*>", page)
    assert len(radios) == 3
    for index, radio in enumerate(radios):
        assert f'name="option" value="{index}"' in radio
        assert f'id="option-{index}"' in radio
        assert f'<label for="option-{index}">' in page
        assert ("checked" in radio) == (index == 2)
    assert page.count("<button") == 1 and ">Skicka svar</button>" in page
    assert "sparas först när du trycker på knappen" in page


def test_confirm_page_in_english() -> None:
    page = answer_confirm_page(
        language="en", question=samples.question(), selected=0, post_url="/a/tok"
    )
    assert '<html lang="en">' in page
    assert ">Send answer</button>" in page
    assert "saved only when you press the button" in page


def test_result_page_right() -> None:
    page = answer_result_page(
        language="sv",
        question=samples.question(),
        selected=0,
        correct_index=0,
        explanation="Att hota någon är olaga hot.",
        attempt=1,
        lesson_url="https://nanolearn.example.se/l/tok",
    )
    assert "<h1>Rätt svar!</h1>" in page
    assert "Ditt svar: Att hota en politiker" in page
    assert "Att hota någon är olaga hot." in page
    assert "nytt försök" not in page
    assert 'href="https://nanolearn.example.se/l/tok"' in page


def test_result_page_wrong_new_attempt_says_so_in_text() -> None:
    page = answer_result_page(
        language="sv",
        question=samples.question(),
        selected=1,
        correct_index=0,
        explanation="Åsikter är tillåtna, hot är det inte.",
        attempt=2,
        lesson_url=None,
    )
    assert "<h1>Inte riktigt</h1>" in page
    assert "Ditt svar: Att dela en åsikt" in page
    assert "Rätt svar: Att hota en politiker" in page
    assert "Åsikter är tillåtna, hot är det inte." in page
    assert "nytt försök" in page and "första svar" in page


def test_result_page_escapes_explanation() -> None:
    page = answer_result_page(
        language="en",
        question=samples.question(question="<b>Q</b>"),
        selected=5,  # out of range: shown as wrong, no crash
        correct_index=0,
        explanation="<script>x</script>",
        attempt=1,
        lesson_url=None,
    )
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<h1>Not quite</h1>" in page


def test_lesson_page_has_lesson_quiz_and_help() -> None:
    review = samples.question(review=True)
    page = lesson_page(
        language="sv",
        course_title="Kursen",
        help_md=samples.HELP_MD,
        lesson=samples.lesson(title="<i>Titel</i>"),
        questions=[samples.question(), review],
    )
    assert "<h1>&lt;i&gt;Titel&lt;/i&gt;</h1>" in page
    assert "<strong>många</strong>" in page
    assert "Minns du?" in page
    assert f'href="{review.original_lesson_url}"' in page
    for url in review.answer_urls:
        assert url.replace("&", "&amp;") in page
    assert 'href="tel:020505050" rel="noopener"' in page


def test_unsubscribe_page_states() -> None:
    ask = unsubscribe_page(language="sv", course_title="Kursen", post_url="/u/tok", done=False)
    assert '<form method="post" action="/u/tok">' in ask
    assert ">Ja, avsluta</button>" in ask
    done = unsubscribe_page(language="en", course_title="Kursen", post_url="/u/tok", done=True)
    assert "<form" not in done
    assert "no more e-mails" in done


def test_unknown_language_falls_back_to_swedish() -> None:
    page = message_page(language="de", title="Titel", text="Text")
    assert '<html lang="sv">' in page
