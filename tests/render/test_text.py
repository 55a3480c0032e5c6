"""Fixed texts, dates and Markdown."""

from __future__ import annotations

from datetime import date

from app.core import i18n
from app.core.i18n import format_date, t
from app.core.markdown import lesson_body_html, markdown_to_html, markdown_to_text


def test_both_languages_have_the_same_texts() -> None:
    assert i18n._TEXTS["sv"].keys() == i18n._TEXTS["en"].keys()


def test_t_fills_placeholders_and_falls_back_to_swedish() -> None:
    assert t("sv", "greeting", name="Åsa") == "Hej Åsa!"
    assert t("en", "greeting", name="Åsa") == "Hi Åsa!"
    assert t("fi", "submit_answer") == "Skicka svar"
    assert t("EN", "submit_answer") == "Send answer"


def test_format_date() -> None:
    assert format_date(date(2026, 1, 5), "sv") == "måndag 5 januari 2026"
    assert format_date(date(2026, 1, 5), "en") == "Monday 5 January 2026"
    assert format_date(date(2026, 3, 1), "sv") == "söndag 1 mars 2026"
    assert format_date(date(2026, 12, 31), "xx") == "torsdag 31 december 2026"


def test_markdown_escapes_raw_html_and_marks_links() -> None:
    out = markdown_to_html('<script>alert(1)</script>\n\n[CVE](https://www.cve.se "t") <b>x</b>')
    assert "<script" not in out and "<b>" not in out
    assert "&lt;script&gt;" in out
    assert '<a href="https://www.cve.se" title="t" rel="noopener">CVE</a>' in out


def test_markdown_drops_unsafe_links_images_and_big_headings() -> None:
    out = markdown_to_html("# Rubrik\n\n[x](javascript:alert(1)) ![bild](https://e.se/p.png)")
    assert "<h1" not in out and "<h3>Rubrik</h3>" in out
    assert 'href="javascript' not in out
    assert "<img" not in out


def test_lesson_body_does_not_link_out() -> None:
    out = lesson_body_html("Se [här](https://evil.example.com) och <https://x.example>.")
    assert "<a " not in out


def test_markdown_to_text() -> None:
    md = "**Ring 112** vid fara.\nNy rad.\n\n- ett\n- två\n\n1. a\n2. b\n\n[Läs](https://e.se)."
    assert markdown_to_text(md) == (
        "Ring 112 vid fara.\nNy rad.\n\n- ett\n- två\n\n1. a\n2. b\n\nLäs (https://e.se)."
    )
