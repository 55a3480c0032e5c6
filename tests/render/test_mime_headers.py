"""Names and addresses the fast writer must carry intact: folded headers, IDN domains, EAI."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import parseaddr

import pytest

from app.delivery.addresses import AddressError, wire_address
from app.delivery.mime import build_message_bytes
from app.delivery.render import RenderedEmail
from app.employees.models import Employee

FIRST_MAX = Employee.__table__.c.first_name.type.length  # type: ignore[attr-defined]
LAST_MAX = Employee.__table__.c.last_name.type.length  # type: ignore[attr-defined]

# A sample of every script the product supports, repeated up to the column length.
SCRIPTS = {
    "swedish": "Åsa-Öberg Ärlighetsdotter ",
    "cyrillic": "Александра Петровна ",
    "greek": "Αικατερίνη Παπαδοπούλου ",
    "arabic": "فاطمة الزهراء ",
    "hebrew": "אברהם בן דוד ",
    "cjk": "山田太郎李小龍김민준",
    "emoji": "😀👩‍👩‍👧‍👦🇸🇪👍🏽",
    "combining": "e\u0301a\u0308o\u0308 A\u030a",
    "ascii": 'Anna "Quoted", Lind (ext) ',
    "ascii-no-spaces": "Annalind",
}


def filled(sample: str, length: int) -> str:
    return (sample * (length // len(sample) + 1))[:length]


def send_bytes(to_addr: str, to_name: str) -> bytes:
    rendered = RenderedEmail(subject="Ämne", text="Hej\n", html="<p>Hej</p>")
    return build_message_bytes(
        rendered,
        to_addr=to_addr,
        to_name=to_name,
        from_addr="Nanolearn Kommunen <kurs@kommun.example>",
        message_id="nl.7.abc@kommun.example",
        unsubscribe_url="https://nanolearn.example/u/tok",
        date=datetime(2026, 3, 3, 7, 0, tzinfo=UTC),
        language="sv",
    )


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def decoded_to(raw: bytes) -> tuple[str, str]:
    """(name, address) of To: as RFC 2047 6.2 says to read it: the whitespace between two
    encoded words is not part of the text. (policy.default's address parser keeps it, so it
    reads a long name folded into several encoded words with extra spaces, also when the
    standard library wrote them itself.)"""
    message = email.message_from_string(raw.decode(), policy=email.policy.compat32)
    name, address = parseaddr(message["To"])  # the structure first, then decode the name
    return str(make_header(decode_header(name))), address


def head_lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize("lengths", [(12, 12), (40, 40), (FIRST_MAX, LAST_MAX)])
def test_long_names_fold_and_come_back_intact(script: str, lengths: tuple[int, int]) -> None:
    sample = SCRIPTS[script]
    first, last = filled(sample, lengths[0]), filled(sample[::-1], lengths[1])
    full_name = Employee(first_name=first, last_name=last).full_name
    raw = send_bytes("anna@kommun.example", full_name)
    assert all(len(line) <= 78 for line in head_lines(raw)), head_lines(raw)
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert decoded_to(raw) == (" ".join(full_name.split()), "anna@kommun.example")
    to = parse(raw)["To"]
    assert not to.defects, to.defects
    assert to.addresses[0].addr_spec == "anna@kommun.example"


def test_a_short_name_stays_on_one_line() -> None:
    raw = send_bytes("anna@kommun.example", "Anna Lind")
    assert b"\r\nTo: Anna Lind <anna@kommun.example>\r\n" in raw


def test_an_idn_domain_is_written_in_ascii_form() -> None:
    raw = send_bytes("anna@kommunö.se", "Anna Öberg")
    assert raw.split(b"\r\n\r\n", 1)[0].isascii()
    (address,) = parse(raw)["To"].addresses
    assert address.addr_spec == "anna@xn--kommun-1xa.se"
    assert address.display_name == "Anna Öberg"


def test_a_non_ascii_local_part_is_written_as_utf8() -> None:
    raw = send_bytes("åsa@kommunö.se", "Åsa " + "Öberg" * 30)
    assert " <åsa@xn--kommun-1xa.se>\r\n".encode() in raw  # UTF-8, as SMTPUTF8 allows
    assert all(len(line) <= 78 for line in head_lines(raw))
    assert decoded_to(raw) == ("Åsa " + "Öberg" * 30, "åsa@xn--kommun-1xa.se")


def test_wire_address() -> None:
    assert wire_address("Projekt@Kommun.example") == "Projekt@Kommun.example"
    assert wire_address("anna@KOMMUNÖ.se") == "anna@xn--kommun-1xa.se"
    assert wire_address("åsa@example.org") == "åsa@example.org"
    with pytest.raises(AddressError, match="Domänen"):
        wire_address("anna@kommun\u2603.se")  # a snowman is not allowed in IDNA 2008
