"""The fast byte builder says exactly what the standard library's EmailMessage says."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from app.delivery.compose import NAME_SLOT, TOKEN_SLOT, personalise
from app.delivery.mime import build_message_bytes
from app.delivery.render import RenderedEmail, build_message, render_email
from tests.render.samples import email as sample_email

CASES = [
    ("anna@kommun.example", "Anna Lind", "Vad är våldsbejakande extremism?"),
    (
        "asa@kommun.example",
        "Åsa Öberg-Lindqvist von Sydow af Ekenstam",
        "Minns du? " + "Lång rubrik " * 8,
    ),
    ("x@kommun.example", "", "Plain ASCII subject"),
    ("y@kommun.example", 'Anna "Quoted", Lind', "Subject\nwith a line break"),
    ("anna@kommunö.se", "Anna Öberg", "IDN: the domain goes out as xn--kommun-1xa.se"),
]


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.parametrize(("to_addr", "to_name", "subject"), CASES)
def test_fast_bytes_equal_the_standard_message(to_addr: str, to_name: str, subject: str) -> None:
    base = render_email(sample_email())
    rendered = RenderedEmail(subject=subject, text=base.text + "\n.\nFrom here \n", html=base.html)
    kwargs = {
        "to_addr": to_addr,
        "to_name": to_name,
        "from_addr": "Nanolearn Kommunen <kurs@kommun.example>",
        "message_id": "nl.7.abc@kommun.example",
        "unsubscribe_url": "https://nanolearn.example/u/tok",
        "date": datetime(2026, 3, 3, 7, 0, tzinfo=UTC),
        "language": "sv",
    }
    fast = parse(build_message_bytes(rendered, **kwargs))  # type: ignore[arg-type]
    reference = parse(build_message(rendered, **kwargs).as_bytes())  # type: ignore[arg-type]
    assert list(fast.keys()) == list(reference.keys())
    for name in reference:  # header names
        if name != "Content-Type":  # the boundary differs
            assert str(fast[name]) == str(reference[name]), name
    assert fast.get_content_type() == "multipart/alternative"
    for subtype in ("plain", "html"):
        ours, theirs = (
            fast.get_body(preferencelist=(subtype,)),
            reference.get_body(preferencelist=(subtype,)),
        )
        assert ours is not None and theirs is not None
        assert ours.get_content() == theirs.get_content()
    raw = build_message_bytes(rendered, **kwargs)  # type: ignore[arg-type]
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))  # SMTP's hard line limit
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only


def test_personalise_fills_token_and_escapes_the_name() -> None:
    shape = RenderedEmail(
        subject="S",
        text=f"Hej {NAME_SLOT}! https://x/a/{TOKEN_SLOT}/k/0",
        html=f"<p>Hej {NAME_SLOT}!</p><a href='https://x/a/{TOKEN_SLOT}/k/0'>",
    )
    done = personalise(shape, "AQ.mac", "<Eva & Bo>")
    assert done.text == "Hej <Eva & Bo>! https://x/a/AQ.mac/k/0"
    assert done.html == "<p>Hej &lt;Eva &amp; Bo&gt;!</p><a href='https://x/a/AQ.mac/k/0'>"
