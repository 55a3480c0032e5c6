"""DKIM signing of the e-mails as sent (checked with the public key, as a receiver would), the
VERP envelope sender on the wire, the jobs and listener in a running process, and the settings."""

from __future__ import annotations

import asyncio
import base64
import subprocess
from datetime import timedelta
from pathlib import Path

import dkim
import pytest
from pydantic import ValidationError

from app.bounces.verp import envelope_sender, read_tag
from app.core.clock import FakeClock
from app.core.config import Settings
from app.core.mail_urls import parse_imap_url
from app.core.runtime import Runtime
from app.worker import BackgroundServices
from tests.bounces.conftest import BOUNCE_ADDRESS
from tests.delivery.worker_process import SLOT, make_campaign
from tests.flow import tick
from tests.smtp_server import SmtpSink, free_port


def make_key(folder: Path) -> tuple[Path, bytes]:
    """A 2048-bit RSA key file and its DNS TXT record (v=DKIM1; k=rsa; p=…)."""
    key = folder / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def test_emails_are_signed_over_the_unsubscribe_headers_and_verify(
    runtime: Runtime, clock: FakeClock, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    key, record = make_key(tmp_path)
    runtime.settings.dkim_selector = "nl2026"
    runtime.settings.dkim_domain = "kommun.example"
    runtime.settings.dkim_key_file = key
    make_campaign(runtime, 3)
    clock.set(SLOT + timedelta(minutes=1))
    assert tick(runtime).sent == 3

    asked: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        asked.append(name)
        return record if name == b"nl2026._domainkey.kommun.example." else None

    for received in smtp_sink.received:
        assert received.raw.startswith(b"DKIM-Signature:")
        assert dkim.verify(received.raw, dnsfunc=dns)
        signature = received.message["DKIM-Signature"]
        signed = {h.strip().lower() for h in signature.split("h=")[1].split(";")[0].split(":")}
        assert {"from", "list-unsubscribe", "list-unsubscribe-post", "message-id"} <= signed
        # A changed unsubscribe link breaks the signature.
        tampered = received.raw.replace(b"List-Unsubscribe: <http", b"List-Unsubscribe: <https")
        assert not dkim.verify(tampered, dnsfunc=dns)
    assert asked


def test_verp_tags_survive_a_relay_that_changes_case_and_reject_others() -> None:
    secret = b"s" * 32
    address = envelope_sender(BOUNCE_ADDRESS, secret, 4711)
    assert address.startswith("bounces+4711-") and address.endswith("@utskick.kommun.example")
    tagged = read_tag(BOUNCE_ADDRESS, secret, address.upper())
    assert tagged is not None and tagged.delivery_id == 4711
    forged = read_tag(BOUNCE_ADDRESS, secret, address.replace("4711-", "4712-"))
    assert forged is not None and forged.delivery_id is None
    assert read_tag(BOUNCE_ADDRESS, secret, "someone@utskick.kommun.example") is None
    assert read_tag(BOUNCE_ADDRESS, secret, address.replace("utskick", "annan")) is None


def test_a_running_process_polls_the_mailbox_and_listens(runtime: Runtime) -> None:
    port = free_port()
    runtime.settings.bounce_imap_url = "imaps://bounces:pw@127.0.0.1:1/INBOX"
    runtime.settings.bounce_smtp_listen = f"127.0.0.1:{port}"

    async def started() -> tuple[set[str], bool]:
        services = BackgroundServices(runtime, mail_catcher=True)
        await services.start()
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return {job.id for job in services.scheduler.get_jobs()}, True
        finally:
            await services.stop()

    names, listening = asyncio.run(started())
    assert "bounces-imap" in names and listening


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("imap://u:p@host/INBOX", "imaps://"),
        ("imaps://host/INBOX", "user and a host"),
        ("imaps://u@host/INBOX", "no password"),
        ("imaps://u@host/INBOX?auth=kerberos", "auth=password or auth=xoauth2"),
    ],
)
def test_bad_imap_urls_are_refused_with_the_reason(url: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(_env_file=None, bounce_imap_url=url)  # type: ignore[call-arg]


def test_imap_url_forms() -> None:
    oauth = parse_imap_url("imaps://studs%40kommun.se@outlook.office365.com/Inkorg?auth=xoauth2")
    assert (oauth.username, oauth.password, oauth.port, oauth.folder, oauth.xoauth2) == (
        "studs@kommun.se",
        None,
        993,
        "Inkorg",
        True,
    )
    assert parse_imap_url("imaps://u:p%2Fq@mail.kommun.se:9993").folder == "INBOX"


def test_dkim_settings_come_as_a_set() -> None:
    with pytest.raises(ValidationError, match="DKIM needs all of"):
        Settings(_env_file=None, dkim_selector="nl")  # type: ignore[call-arg]
