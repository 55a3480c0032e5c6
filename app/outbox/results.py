"""What the transport says of one e-mail, in the words the outbox records."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    sent = "sent"
    temporary = "temporary"  # 4xx, dropped connection, timeout: try again later
    permanent = "permanent"  # 5xx for this address: never try again
    # The relay refuses us, not the address: our sender (5xx on MAIL FROM), our login, our
    # TLS settings. Every e-mail would fail the same way, so the campaign pauses and says why.
    blocked = "blocked"
    skipped = "skipped"  # not attempted: its campaign was paused while the batch was sending


@dataclass(frozen=True)
class SendResult:
    delivery_id: int
    outcome: Outcome
    message_id: str
    error: str = ""
    code: int | None = None
    # For a blocked send: what people should do, in plain words (the pause reason shows it).
    advice: str = ""

    @property
    def reason(self) -> str:
        """For metrics: 4xx, 5xx, connection (no reply at all) or address (not attempted: the
        address cannot be sent through this relay)."""
        if self.code is None:
            return "address" if self.outcome is Outcome.permanent else "connection"
        return "5xx" if self.code >= 500 else "4xx"
