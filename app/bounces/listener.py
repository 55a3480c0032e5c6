"""An SMTP listener for bounces (BOUNCE_SMTP_LISTEN), for deployments that point an MX for the
bounce domain at Nanolearn. Each message is read like one from the IMAP mailbox; one that was
not understood is kept in data/bounces/ (a Maildir any mail program opens), never dropped.

Only recipients at BOUNCE_ADDRESS's domain are accepted (any, when it is unset), and DATA is
capped at BOUNCE_MAX_KB: aiosmtpd stops keeping a larger message and answers 552.
"""

from __future__ import annotations

import asyncio
import mailbox
import threading
from typing import Any

from aiosmtpd.controller import Controller

from app.bounces.service import handle_message
from app.core.runtime import Runtime


class BounceHandler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        directory = runtime.settings.data_dir / "bounces"
        directory.parent.mkdir(parents=True, exist_ok=True)
        self.unread = mailbox.Maildir(directory, create=True)
        self._lock = threading.Lock()
        address = runtime.settings.bounce_address
        self.domain = address.rpartition("@")[2].lower() if address else None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.domain is not None and address.rpartition("@")[2].lower() != self.domain:
            return "550 5.1.1 No such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = bytes(envelope.content)
        try:
            await asyncio.to_thread(self._handle, data, list(envelope.rcpt_tos))
        except Exception:
            return "451 4.3.0 Could not be processed now, try again later"
        return "250 OK"

    def _handle(self, data: bytes, rcpt_tos: list[str]) -> None:
        runtime = self.runtime
        with runtime.session_factory() as session:
            verdict = handle_message(
                session, runtime.settings, data, runtime.clock.now(), envelope_to=rcpt_tos
            )
            session.commit()
        if not verdict.handled:
            with self._lock:
                self.unread.add(data)


class BounceListener:
    def __init__(self, runtime: Runtime) -> None:
        host, _, port = runtime.settings.bounce_smtp_listen.rpartition(":")
        self.controller = Controller(
            BounceHandler(runtime),
            hostname=host.strip("[]"),
            port=int(port),
            data_size_limit=runtime.settings.bounce_max_kb * 1024,
        )

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
