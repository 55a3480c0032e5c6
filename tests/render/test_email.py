"""The lesson e-mail as a recipient's mail client sees it: parsed back from bytes."""

from __future__ import annotations

import email
import email.policy
import html
import re
from datetime import UTC, datetime
from email.message import EmailMessage

from app.delivery.render import build_message, render_email
from tests.render import samples

FROM = "Nanolearn <nanolearn@kommun.example.se>"


def send(content: samples.EmailContent, *, to_name: str = "Åsa Öberg") -> EmailMessage:
    """Render and build like the dispatcher does, then parse it back from the wire format."""
    msg = build_message(
        render_email(content),
        to_addr="asa.oberg@kommun.example.se",
        to_name=to_name,
        from_addr=FROM,
        message_id="<delivery-42@nanolearn.example.se>",
        unsubscribe_url=content.unsubscribe_url,
        date=datetime(2026, 1, 5, 6, 30, tzinfo=UTC),
        language=content.language,
    )
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(msg: EmailMessage) -> tuple[str, str]:
    text_part = msg.get_body(("plain",))
    html_part = msg.get_body(("html",))
    assert text_part is not None and html_part is not None
    # The wire format has CRLF line ends; compare against plain newlines.
    return (
        text_part.get_content().replace("\r\n", "\n"),
        html_part.get_content().replace("\r\n", "\n"),
    )


def test_message_is_multipart_alternative_with_text_first() -> None:
    msg = send(samples.email())
    assert msg.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in msg.iter_parts()]
    assert types == ["text/plain", "text/html"]
    for part in msg.iter_parts():
        assert part.get_content_charset() == "utf-8"


def test_headers() -> None:
    msg = send(samples.email())
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Unsubscribe"] == "<https://nanolearn.example.se/u/tok-unsub>"
    assert msg["Message-ID"] == "<delivery-42@nanolearn.example.se>"
    assert msg["Subject"] == "Vad är våldsbejakande extremism?"
    assert msg["Content-Language"] == "sv"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["From"] == FROM
    assert msg["Date"].datetime == datetime(2026, 1, 5, 6, 30, tzinfo=UTC)
    (to,) = msg["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Åsa Öberg", "asa.oberg@kommun.example.se")


def test_raw_headers_are_ascii_and_name_is_encoded() -> None:
    msg = build_message(
        render_email(samples.email()),
        to_addr="asa.oberg@kommun.example.se",
        to_name="Åsa Öberg",
        from_addr=FROM,
        message_id="<x@y>",
        unsubscribe_url="https://nanolearn.example.se/u/tok",
        date=datetime(2026, 1, 5, 6, 30, tzinfo=UTC),
        language="sv",
    )
    raw = msg.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # RFC 2047 encoded, no raw UTF-8 in headers
    assert b"=?utf-8?" in head
    raw.decode("ascii")  # bodies are quoted-printable: passes any relay


def test_html_is_small_inlined_and_self_contained() -> None:
    _, body = parts(send(samples.email()))
    assert len(body.encode()) < 100_000
    assert "<style" not in body
    assert 'style="' in body  # the CSS was inlined
    assert "max-width: 600px" in body
    for forbidden in ("<img", "<script", "<link", "<iframe", "url("):
        assert forbidden not in body


def test_every_answer_url_is_in_both_parts() -> None:
    content = samples.email()
    text, body = parts(send(content))
    for q in content.questions:
        for url in q.answer_urls:
            assert url in text
            assert f'href="{html.escape(url)}"' in body


def test_text_part_reads_on_its_own() -> None:
    content = samples.email()
    text, _ = parts(send(content))
    assert text.startswith("Hej Åsa!")
    assert "Att ha extrema åsikter är inte brottsligt" in text
    assert "**" not in text  # Markdown markup is gone
    assert "- ord\n- handling" in text
    assert "A. Att hota en politiker\n" + content.questions[0].answer_urls[0] in text
    assert "Kvinnofridslinjen: 020-50 50 50" in text
    assert content.unsubscribe_url in text
    assert content.view_url is not None and content.view_url in text


def test_hostile_data_is_escaped() -> None:
    hostile = samples.lesson(
        title="<script>alert(1)</script>",
        key_point='"><img src=x onerror=alert(1)>',
        body_md="<b>fet</b> <script>alert(2)</script>\n\n[klick](javascript:alert(3))",
        read_more_url="javascript:alert(4)",
        sources=["<i>källa</i>"],
    )
    content = samples.email(lesson=hostile, first_name="<em>Eva</em>")
    msg = send(content)
    _, body = parts(msg)
    assert "<script" not in body
    assert "<img" not in body
    assert "<b>" not in body and "<i>" not in body and "<em>" not in body
    assert "javascript:" not in body.replace("[klick](javascript:alert(3))", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;b&gt;fet&lt;/b&gt;" in body
    assert msg["Subject"] == "<script>alert(1)</script>"  # plain header text, no HTML


def test_links_come_only_from_given_urls() -> None:
    content = samples.email(
        lesson=samples.lesson(body_md="Se [här](https://evil.example.com) och <https://x.example>.")
    )
    _, body = parts(send(content))
    hrefs = set(re.findall(r'href="([^"]+)"', body))
    allowed = {html.escape(u) for q in content.questions for u in q.answer_urls}
    allowed |= {
        "https://www.cve.se/valdsbejakandeextremism",
        "https://nanolearn.example.se/l/tok-view",
        "https://nanolearn.example.se/l/tok-rad-00",
        "https://nanolearn.example.se/u/tok-unsub",
        "tel:020505050",  # from the course help text
    }
    assert hrefs == allowed


def test_language_follows_course() -> None:
    _, sv_body = parts(send(samples.email()))
    assert '<html lang="sv">' in sv_body
    assert "måndag 5 januari 2026" in sv_body

    msg = send(samples.email(language="en", first_name=""))
    text, body = parts(msg)
    assert '<html lang="en">' in body
    assert msg["Content-Language"] == "en"
    assert "Monday 5 January 2026" in body
    assert "Key point" in body and "What you do" in body and "Test yourself" in body
    assert "Do you remember?" in body
    assert "Unsubscribe" in body
    assert text.startswith("Hi!\n")
    assert "Det viktigaste" not in body


def test_review_block_is_marked_and_links_to_original_lesson() -> None:
    text, body = parts(send(samples.email()))
    assert "Minns du?" in body and "Minns du?\n---------" in text
    assert "En repetition från lektionen ”Vad är radikalisering?”" in body
    assert 'href="https://nanolearn.example.se/l/tok-rad-00"' in body
    assert "https://nanolearn.example.se/l/tok-rad-00" in text


def test_review_only_email() -> None:
    review = samples.question(review=True)
    msg = send(samples.email(lesson=None, questions=[review]))
    assert msg["Subject"] == "Minns du? Vad är radikalisering?"
    text, body = parts(msg)
    assert "Minns du?" in body
    for url in review.answer_urls:
        assert url in text


def test_neutral_greeting_without_name_and_line_breaks_in_name() -> None:
    text, _ = parts(send(samples.email(first_name="")))
    assert text.startswith("Hej!\n")
    msg = send(samples.email(), to_name="Åsa\r\nBcc: evil@example.com")
    assert msg["Bcc"] is None
    assert msg["To"].addresses[0].display_name == "Åsa Bcc: evil@example.com"


def test_help_box_has_padding_at_the_bottom() -> None:
    """The help box's text must not touch its lower edge, in clients that drop margins too."""
    _, body = parts(send(samples.email()))
    style = re.search(r'<div class="help" style="([^"]*)"', body)
    assert style is not None
    padding = re.search(r"padding:\s*([^;]+)", style.group(1))
    assert padding is not None
    values = padding.group(1).split()
    bottom = values[{1: 0, 2: 0, 3: 2, 4: 2}[len(values)]]
    assert bottom not in ("0", "0px"), style.group(1)
