"""The built-in development mail catcher: an SMTP server that keeps messages in data/mail/."""

from __future__ import annotations

import mailbox
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MaildirHandler:
    def __init__(self, directory: Path) -> None:
        directory.parent.mkdir(parents=True, exist_ok=True)  # Maildir makes tmp/new/cur itself
        self.maildir = mailbox.Maildir(directory, create=True)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.maildir.add(bytes(envelope.content))
        return "250 Message accepted for delivery"


class MailCatcher:
    def __init__(self, directory: Path, host: str, port: int) -> None:
        self.directory = directory
        self.controller = Controller(MaildirHandler(directory), hostname=host, port=port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
