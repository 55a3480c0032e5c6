"""A relay that refuses chosen addresses the way real relays do: quoting the address in the
reply, which the outbox stores. An erasure must clear stored SMTP replies too."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.smtp_server import CollectingHandler


@dataclass
class RefusingHandler(CollectingHandler):
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"
