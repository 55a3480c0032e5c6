"""The inbound SMTP listener (BOUNCE_SMTP_LISTEN) gets the same samples as the IMAP mailbox and
gives the same result; what it did not understand is kept in data/bounces/, never dropped."""

from __future__ import annotations

import mailbox
import smtplib
from collections.abc import Iterator

import pytest

from app.bounces.listener import BounceListener
from app.core.runtime import Runtime
from tests.bounces.conftest import SentMail, expected_results, results
from tests.bounces.samples import ALL
from tests.smtp_server import free_port


@pytest.fixture
def listener(runtime: Runtime) -> Iterator[tuple[str, int]]:
    port = free_port()
    runtime.settings.bounce_smtp_listen = f"127.0.0.1:{port}"
    server = BounceListener(runtime)
    server.start()
    yield "127.0.0.1", port
    server.stop()


def test_same_samples_same_result(
    runtime: Runtime, sent: list[SentMail], listener: tuple[str, int]
) -> None:
    with smtplib.SMTP(*listener, timeout=10) as smtp:
        for mail, sample in zip(sent, ALL, strict=True):
            smtp.sendmail("", [mail.envelope_sender], mail.bounce(sample))  # MAIL FROM:<>

    assert results(runtime) == expected_results()
    kept = mailbox.Maildir(runtime.settings.data_dir / "bounces", create=False)
    assert [str(m["Subject"]) for m in kept] == ["Sv: Veckans lektion"]


def test_forged_changes_nothing_and_is_kept(
    runtime: Runtime, sent: list[SentMail], listener: tuple[str, int]
) -> None:
    forged = "bounces+2-" + "f" * 20 + "@utskick.kommun.example"
    with smtplib.SMTP(*listener, timeout=10) as smtp:
        smtp.sendmail("", [forged], sent[2].bounce(ALL[0], bounce_to=forged))

    assert results(runtime) == [("sent", None, False, 0)] * len(ALL)
    assert len(mailbox.Maildir(runtime.settings.data_dir / "bounces", create=False)) == 1


def test_other_domains_and_oversized_messages_are_refused(
    runtime: Runtime, sent: list[SentMail], listener: tuple[str, int]
) -> None:
    with smtplib.SMTP(*listener, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.sendmail("", ["someone@elsewhere.example"], sent[0].bounce(ALL[0]))
        huge = b"Subject: x\r\n\r\n" + (b"y" * 998 + b"\r\n") * 1100  # > BOUNCE_MAX_KB
        with pytest.raises(smtplib.SMTPSenderRefused) as announced:  # SIZE= said so
            smtp.sendmail("", [sent[0].envelope_sender], huge)
        assert announced.value.smtp_code == 552
        # A sender that does not announce the size: aiosmtpd stops keeping the data, 552.
        smtp.mail("")
        smtp.rcpt(sent[0].envelope_sender)
        code, _ = smtp.data(huge)
        assert code == 552
    assert results(runtime)[0] == ("sent", None, False, 0)
