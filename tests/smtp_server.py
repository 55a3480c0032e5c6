"""A real SMTP server (aiosmtpd, in-process) that keeps what it receives, for tests."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    smtputf8: bool = False  # MAIL FROM carried SMTPUTF8

    @property
    def message(self) -> EmailMessage:
        # Parsing bytes reads 8-bit header text as undecodable; a message sent with SMTPUTF8
        # has UTF-8 headers (RFC 6532), so it is read as text.
        msg = email.message_from_string(
            self.raw.decode("utf-8", "surrogateescape"), policy=email.policy.default
        )
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class CollectingHandler:
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    bytes(envelope.content),
                    bool(envelope.smtp_utf8),
                )
            )
        return "250 Message accepted"


class SmtpSink:
    """Starts on a free loopback port; `url` is what NANOLEARN_SMTP_URL would be. Options go to
    aiosmtpd's SMTP, e.g. enable_SMTPUTF8=False for a relay without SMTPUTF8 (on by default)."""

    def __init__(self, handler: Any | None = None, **smtp_options: Any) -> None:
        self.handler = handler or CollectingHandler()
        self.port = free_port()
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, **smtp_options
        )

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        received: list[Received] = self.handler.received
        return received

    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class FaultyHandler(CollectingHandler):
    """Replies like a troubled relay: 550 for chosen addresses, 451 the first N times per address."""

    reject: set[str] = field(default_factory=set)
    temporary_failures: int = 0
    seen: dict[str, int] = field(default_factory=dict)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.reject:
            return "550 5.1.1 Mailbox does not exist"
        with self.lock:
            count = self.seen.get(address, 0)
            self.seen[address] = count + 1
        if count < self.temporary_failures:
            return "451 4.7.1 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"
