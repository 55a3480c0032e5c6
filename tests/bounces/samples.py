"""Real-world bounce samples (tests/bounces/samples/*.eml) with the parts that depend on the
e-mail they answer left as {{placeholders}}: the address the bounce went to, the original
recipient and the Message-ID quoted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SAMPLES = Path(__file__).parent / "samples"


@dataclass(frozen=True)
class Sample:
    name: str
    verdict: str  # what app.bounces.service.handle_message says of it
    status: str | None = None  # the enhanced status code recorded

    def render(self, *, bounce_to: str, recipient: str, message_id: str) -> bytes:
        text = (SAMPLES / f"{self.name}.eml").read_text(encoding="utf-8")
        for key, value in {
            "BOUNCE_TO": bounce_to,
            "RECIPIENT": recipient,
            "MESSAGE_ID": message_id,
        }.items():
            text = text.replace("{{" + key + "}}", value)
        return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


# In the order of the people of the test campaign (p0…p5@kommun.example): one e-mail each.
ALL = (
    Sample("exchange_online_ndr", "hard", "5.1.10"),
    Sample("postfix_user_unknown", "hard", "5.1.1"),
    Sample("gmail_no_such_user", "hard", "5.1.1"),
    Sample("qmail_mailbox_full", "soft", "5.2.2"),
    Sample("out_of_office", "auto_reply"),
    Sample("not_a_bounce", "unknown"),
)
