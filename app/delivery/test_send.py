"""Test-send: one lesson e-mail to one address now, through the same transport as the
dispatcher (same TLS, CA file, AUTH and error reading). Used by the API and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.core.config import Settings
from app.delivery.compose import Outgoing
from app.delivery.preview import test_message
from app.delivery.transport import make_transport
from app.outbox.results import Outcome


class TestSendRefused(Exception):
    """The relay did not take the message. `address` is True when it was not even tried because
    the relay cannot carry this address (e.g. it needs SMTPUTF8 and the relay lacks it)."""

    def __init__(self, *, address: bool, relay: str, error: str) -> None:
        super().__init__(error)
        self.address = address
        self.relay = relay
        self.error = error


@dataclass(frozen=True)
class TestSent:
    message_id: str


async def send_test(
    session: Session,
    settings: Settings,
    campaign: Campaign,
    lesson: str | None,
    to_addr: str,
    now: datetime,
) -> TestSent:
    """Send it; raises addresses.AddressError for an address no e-mail can carry, and
    TestSendRefused when the relay does not accept it. Not audited: the caller records it."""
    data, mid = test_message(session, settings, campaign, lesson, to_addr, now)
    transport = make_transport(settings, concurrency=1)
    try:
        result = await transport.send(Outgoing(0, to_addr, data, mid))
    finally:
        await transport.close()
    if result.outcome is not Outcome.sent:
        raise TestSendRefused(
            address=result.reason == "address", relay=settings.smtp.label, error=result.error
        )
    return TestSent(mid)
