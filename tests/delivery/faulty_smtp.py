"""SMTP servers for delivery tests (aiosmtpd, in-process): a relay with faults on cue, one
that only counts Message-IDs (for thousands of e-mails), and one with STARTTLS and AUTH."""

from __future__ import annotations

import asyncio
import re
import ssl
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.smtp_server import CollectingHandler, SmtpSink, free_port

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


def message_id_of(raw: bytes) -> str:
    match = MESSAGE_ID.search(raw)
    assert match, "a message without Message-ID"
    return match.group(1).decode()


@dataclass
class FaultPlan:
    """What goes wrong for an address: the first `times` attempts fail in the given way."""

    kind: str  # "451" at RCPT, "421" at RCPT, "drop" mid-DATA, "slow" DATA reply, "550" always
    times: int = 1


@dataclass
class FaultInjectingHandler(CollectingHandler):
    """A troubled relay. Faults are chosen per address (`plans`), or the sender is refused."""

    plans: dict[str, FaultPlan] = field(default_factory=dict)
    refuse_sender: bool = False
    slow_seconds: float = 2.0
    attempts: Counter[str] = field(default_factory=Counter)

    def _fault(self, address: str, stage: str) -> str | None:
        plan = self.plans.get(address)
        if plan is None:
            return None
        stage_of = {"451": "rcpt", "421": "rcpt", "550": "rcpt", "drop": "data", "slow": "data"}
        if stage_of[plan.kind] != stage:
            return None
        if plan.kind == "550":
            return plan.kind
        with self.lock:
            self.attempts[f"{stage}:{address}"] += 1
            seen = self.attempts[f"{stage}:{address}"]
        return plan.kind if seen <= plan.times else None

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse_sender:
            return "550 5.7.1 Sender address rejected: not authorised to send for this domain"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        fault = self._fault(address, "rcpt")
        if fault == "550":
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if fault == "451":
            return "451 4.7.1 Greylisted, try again later"
        if fault == "421":
            return "421 4.7.0 Too many messages, slow down"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        fault = self._fault(envelope.rcpt_tos[0], "data")
        if fault == "drop":
            server.transport.close()  # the line drops before the relay says yes
            return "250 never seen"
        if fault == "slow":  # the relay has the message, but says so after we gave up
            reply = await super().handle_DATA(server, session, envelope)
            await asyncio.sleep(self.slow_seconds)
            return reply
        return await super().handle_DATA(server, session, envelope)


@dataclass
class MessageIdHandler:
    """Keeps only each message's Message-ID: cheap enough for thousands of e-mails."""

    ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mid = message_id_of(bytes(envelope.content))
        with self.lock:
            self.ids.append(mid)
        return "250 Message accepted"

    def count(self) -> int:
        with self.lock:
            return len(self.ids)

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(self.ids)


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made with openssl (the cryptography package is not here)."""
    cert, key = directory / "relay.crt", directory / "relay.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=relay.test",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class TlsAuthHandler(CollectingHandler):
    """Remembers, per message, whether the session was encrypted and who logged in."""

    sessions: list[tuple[bool, str | None]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        encrypted = server.transport.get_extra_info("cipher") is not None
        login = session.auth_data.login.decode() if session.authenticated else None
        with self.lock:
            self.sessions.append((encrypted, login))
        return await super().handle_DATA(server, session, envelope)


class TlsAuthRelay(SmtpSink):
    """A relay that requires TLS, then AUTH: STARTTLS on a submission port (587), or TLS from
    the first byte (465, smtps://) with `implicit`."""

    def __init__(
        self, cert: Path, key: Path, login: str, password: str, *, implicit: bool = False
    ) -> None:
        self.handler = TlsAuthHandler()
        self.port = free_port()
        self.implicit = implicit
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                login.encode(),
                password.encode(),
            )
            # handled=False: aiosmtpd itself answers 535 to a wrong password.
            return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

        tls: dict[str, Any] = (
            {"ssl_context": context, "auth_require_tls": False}  # TLS below SMTP: aiosmtpd
            if implicit  # cannot tell, so it must not insist on STARTTLS before AUTH
            else {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
        )
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticate,
            auth_required=True,
            **tls,
        )

    def url_for(self, login: str, password: str) -> str:
        user, secret = quote(login, safe=""), quote(password, safe="")
        if self.implicit:
            return f"smtps://{user}:{secret}@127.0.0.1:{self.port}"
        return f"smtp://{user}:{secret}@127.0.0.1:{self.port}?starttls=true"
