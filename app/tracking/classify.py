"""Is a click a person or a machine? Mail scanners open every link seconds after delivery.

The rule (documented in the README), first match wins:
1. HEAD requests are automated (browsers send GET).
2. A user agent naming a known scanner, link previewer or HTTP library is automated.
3. A request within SCANNER_WINDOW of the e-mail being sent is automated: people do not read
   and click that fast; Safe Links and similar fetch every link at delivery.
Everything else is human. Only the confirming POST ever records an answer, so a scanner can
inflate views at worst, never answers.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from app.tracking.models import EventClass

SCANNER_WINDOW = timedelta(seconds=10)
_AUTOMATED_AGENTS = re.compile(
    r"bot\b|crawler|spider|preview|scanner|safelinks|mimecast|proofpoint|barracuda|"
    r"trendmicro|symantec|forcepoint|fireeye|python-requests|python-urllib|aiohttp|httpx|"
    r"curl/|wget/|go-http-client|java/|okhttp|headlesschrome|phantomjs|slackbot|"
    r"facebookexternalhit|whatsapp|skypeuripreview|microsoft office|ms-office|outlook-ios",
    re.IGNORECASE,
)


def classify(
    *, method: str, user_agent: str | None, sent_at: datetime | None, now: datetime
) -> tuple[EventClass, str]:
    """The event's class and the rule that decided it (kept with the event for tuning)."""
    if method.upper() == "HEAD":
        return EventClass.automated, "head-request"
    if not user_agent:
        return EventClass.automated, "no-user-agent"
    if _AUTOMATED_AGENTS.search(user_agent):
        return EventClass.automated, "scanner-user-agent"
    if sent_at is not None and now - sent_at < SCANNER_WINDOW:
        return EventClass.automated, "too-soon-after-delivery"
    return EventClass.human, ""
