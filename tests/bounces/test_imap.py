"""The bounce mailbox on a real IMAP server (Dovecot): every sample ends as it should, what was
understood is filed in the done folder, and what was not stays in the inbox."""

from __future__ import annotations

import asyncio
import imaplib
import ssl
from email import message_from_bytes

import pytest

from app.bounces import jobs as bounces_jobs
from app.core import metrics
from app.core.runtime import Runtime
from app.core.tokens import bounce_tag
from tests.bounces.conftest import BOUNCE_ADDRESS, SentMail, expected_results, results
from tests.bounces.dovecot import PASSWORD, USER, Dovecot
from tests.bounces.samples import ALL


def imap(server: Dovecot) -> imaplib.IMAP4_SSL:
    context = ssl.create_default_context(cafile=str(server.cert))
    client = imaplib.IMAP4_SSL("127.0.0.1", server.port, ssl_context=context, timeout=10)
    client.login(USER, PASSWORD)
    return client


def deliver(server: Dovecot, messages: list[bytes]) -> None:
    client = imap(server)
    for data in messages:
        status, _ = client.append("INBOX", None, None, data)
        assert status == "OK"
    client.logout()


def subjects(server: Dovecot, folder: str) -> list[str]:
    client = imap(server)
    status, _ = client.select(f'"{folder}"', readonly=True)
    assert status == "OK", folder
    _, data = client.search(None, "ALL")
    found = []
    for number in data[0].split():
        _, parts = client.fetch(number, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        header = message_from_bytes(parts[0][1])
        found.append(str(header["Subject"]))
    client.logout()
    return found


def poll(runtime: Runtime) -> None:
    [job] = bounces_jobs.jobs(runtime)
    asyncio.run(job.run())


def use_mailbox(runtime: Runtime, server: Dovecot) -> None:
    runtime.settings.bounce_imap_url = server.url()
    runtime.settings.bounce_imap_ca_file = server.cert


def test_every_sample_ends_as_it_should_and_the_unknown_stays(
    runtime: Runtime, sent: list[SentMail], dovecot: Dovecot
) -> None:
    assert all(m.envelope_sender.startswith("bounces+") for m in sent)
    deliver(dovecot, [mail.bounce(sample) for mail, sample in zip(sent, ALL, strict=True)])
    use_mailbox(runtime, dovecot)
    before = metrics.BOUNCES.labels("hard")._value.get()

    poll(runtime)

    assert results(runtime) == expected_results()
    assert subjects(dovecot, "INBOX") == ["Sv: Veckans lektion"]
    assert len(subjects(dovecot, "Nanolearn")) == len(ALL) - 1
    assert metrics.BOUNCES.labels("hard")._value.get() == before + 3
    # A second poll reads nothing again: the unknown message keeps its place and its flag.
    poll(runtime)
    assert results(runtime) == expected_results()
    assert subjects(dovecot, "INBOX") == ["Sv: Veckans lektion"]


def test_a_forged_bounce_changes_nothing_and_stays(
    runtime: Runtime, sent: list[SentMail], dovecot: Dovecot
) -> None:
    hard = ALL[0]
    forged_to = "bounces+1-" + "0" * 20 + "@utskick.kommun.example"
    other_secret = BOUNCE_ADDRESS.replace("@", "+" + bounce_tag(b"x" * 32, 1) + "@")
    deliver(
        dovecot,
        [sent[0].bounce(hard, bounce_to=forged_to), sent[1].bounce(hard, bounce_to=other_secret)],
    )
    use_mailbox(runtime, dovecot)

    poll(runtime)

    untouched = [("sent", None, False, 0)] * len(ALL)
    assert results(runtime) == untouched
    assert len(subjects(dovecot, "INBOX")) == 2


def test_a_huge_message_is_not_downloaded_and_stays(
    runtime: Runtime, sent: list[SentMail], dovecot: Dovecot
) -> None:
    runtime.settings.bounce_max_kb = 64
    huge = sent[0].bounce(ALL[0]).replace(b"\r\n\r\n", b"\r\n\r\n" + b"x" * 200 * 1024, 1)
    deliver(dovecot, [huge, sent[1].bounce(ALL[1])])
    use_mailbox(runtime, dovecot)

    poll(runtime)

    assert results(runtime)[:2] == [("sent", None, False, 0), expected_results()[1]]
    assert len(subjects(dovecot, "INBOX")) == 1


def test_a_wrong_password_is_a_clear_error_and_nothing_moves(
    runtime: Runtime, sent: list[SentMail], dovecot: Dovecot
) -> None:
    deliver(dovecot, [sent[0].bounce(ALL[0])])
    runtime.settings.bounce_imap_url = dovecot.url().replace(PASSWORD, "fel-losenord")
    runtime.settings.bounce_imap_ca_file = dovecot.cert
    box = bounces_jobs.mailbox(runtime)
    assert box is not None
    with pytest.raises(bounces_jobs.MailboxError, match="login refused"):
        bounces_jobs.poll_once(runtime, box)
    assert results(runtime)[0] == ("sent", None, False, 0)
