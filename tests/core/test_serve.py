"""`nanolearn serve` and `nanolearn worker` as real processes: the links in the e-mails follow the
port actually served, a base URL no recipient can open stops the start, and the log is quiet
JSON."""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from app.auth.models import Role
from app.auth.service import create_api_key
from app.core.db import make_session_factory
from tests.conftest import REPO, TEST_SECRET
from tests.smtp_server import free_port

NANOLEARN = str(Path(sys.executable).parent / "nanolearn")


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    """The process environment with no NANOLEARN_* of the caller's, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NANOLEARN_")}
    env |= {
        "NANOLEARN_DATA_DIR": str(tmp_path / "data"),
        "NANOLEARN_SECRET_KEY": TEST_SECRET,
        "NANOLEARN_LESSONS_DIR": str(REPO / "lessons"),
    }
    return env | {f"NANOLEARN_{k.upper()}": v for k, v in values.items()}


@contextmanager
def serving(args: list[str], env: dict[str, str], cwd: Path, port: int) -> Iterator[Path]:
    """`nanolearn serve ARGS` until the block ends; yields the file its log goes to."""
    log = cwd / "serve.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [NANOLEARN, "serve", *args], env=env, cwd=cwd, stdout=handle, stderr=handle
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "serve did not answer within 60 s"
            time.sleep(0.1)
        yield log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _hang_up(port: int) -> None:
    """An SMTP client that leaves without QUIT: aiosmtpd logs 'Connection lost' for it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.recv(1024)
        sock.sendall(b"EHLO client.example\r\n")
        sock.recv(1024)


def editor_key(engine: Engine) -> dict[str, str]:
    with make_session_factory(engine)() as session:
        _, key = create_api_key(session, "test", Role.editor, datetime.now(UTC))
        session.commit()
    return {"Authorization": f"Bearer {key}"}


def send_a_test(base: str, headers: dict[str, str], name: str) -> None:
    """A new campaign, and a test-send of its first lesson to Anna, through the API."""
    campaign = {
        "name": name,
        "course": "radikalisering",
        "schedule": {"start_date": "2026-01-05", "weekdays": ["mon"], "time": "09:00"},
    }
    created = httpx.post(f"{base}/api/v1/campaigns", json=campaign, headers=headers)
    assert created.status_code == 201, created.text
    sent = httpx.post(
        f"{base}/api/v1/campaigns/{created.json()['id']}/test-send",
        json={"email": "anna.lind@kommun.example"},
        headers=headers,
        timeout=30,
    )
    assert sent.status_code == 200, sent.text


def test_serve_on_another_port_puts_that_port_in_the_links_and_logs_quiet_json(
    tmp_path: Path, database_url: str, engine: Engine
) -> None:
    port, mail_port = free_port(), free_port()
    env = _env(tmp_path, database_url=database_url, dev_mail_port=str(mail_port))
    headers = editor_key(engine)
    base = f"http://127.0.0.1:{port}"

    with serving(["--port", str(port)], env, tmp_path, port) as log:
        send_a_test(base, headers, "Portprov")
        for _ in range(5):
            _hang_up(mail_port)
        inbox = httpx.get(f"{base}/dev/inbox")
        assert inbox.status_code == 200
        assert "visas bara på den här datorn" in inbox.text

    (raw,) = [bytes(m) for m in mailbox.Maildir(tmp_path / "data/mail", create=False)]
    caught = email.message_from_bytes(raw, policy=email.policy.default)
    html = caught.get_body(preferencelist=("html",))
    assert isinstance(html, EmailMessage)
    links = re.findall(r'href="(http[^"]+)"', html.get_content())
    links += re.findall(r"<(http[^>]+)>", str(caught["List-Unsubscribe"]))
    ours = [link for link in links if re.search(r"/[alu]/", link)]  # the lesson has others
    assert len(ours) >= 3 and all(link.startswith(f"{base}/") for link in ours), links

    lines = log.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]  # every line is JSON
    assert not [r for r in records if "color_message" in r]
    assert not [r for r in records if r["logger"] == "mail.log"], "the catcher is chatty"
    messages = " ".join(r["msg"] for r in records)
    assert f"links in e-mails start with {base}" in messages
    assert "answers only requests from this machine" in messages
    assert len(records) < 20, lines


@pytest.mark.parametrize(
    ("command", "values", "shown"),
    [
        (["serve", "--host", "0.0.0.0"], {}, "http://0.0.0.0:"),
        (["serve"], {"host": "::"}, "http://[::]:"),
        (["serve", "--host", "0.0.0.0"], {"base_url": "http://localhost:8000"}, "localhost"),
        (["worker"], {"host": "0.0.0.0"}, "http://0.0.0.0:8000"),
        (["worker"], {"base_url": "http://127.0.0.1:8000", "host": "10.0.0.5"}, "127.0.0.1"),
    ],
)
def test_a_base_url_no_recipient_can_open_stops_the_start(
    tmp_path: Path, command: list[str], values: dict[str, str], shown: str
) -> None:
    done = subprocess.run(
        [NANOLEARN, *command, "--port", str(free_port())]
        if command[0] == "serve"
        else [NANOLEARN, *command],
        env=_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}", **values),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    error = " ".join(done.stderr.split())
    assert shown in error
    assert "ingen mottagare kan öppna" in error and "no recipient can open" in error
    assert "Sätt NANOLEARN_BASE_URL" in error and "Set NANOLEARN_BASE_URL" in error
    assert "NANOLEARN_ALLOW_LOCAL_BASE_URL=true" in error
    assert not (tmp_path / "x.db").exists()  # refused before touching anything
