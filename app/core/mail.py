"""The shape of "send this finished e-mail", for rooms that send mail but sit below sending.

The reports send a monthly e-mail, yet must not import app.delivery (sending sits below them
only as the one transport). The top (app.worker) hands them a `Mailer` built by
app.delivery.transport.mailer, so every e-mail goes through the same transport and relay
settings.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol


class Mailer(Protocol):
    async def __call__(self, message: EmailMessage, recipients: list[str]) -> str | None:
        """Send `message` to `recipients` in one transaction: None when the relay accepted it,
        else the reason it did not."""
        ...
