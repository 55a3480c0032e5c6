"""Is a click a person or a machine? Mail scanners open every link seconds after delivery.

The rule (documented in the README, "Honest numbers"), first match wins:
1. HEAD requests are automated (browsers send GET).
2. A missing user agent, or one naming a known scanner, link previewer or HTTP library.
3. A client address in a documented mail-scanner network (SCANNER_NETWORKS).
4. A request within SCANNER_WINDOW of the e-mail being sent: people do not read and click that
   fast; Safe Links and similar fetch every link at delivery.
5. A link burst: BURST_LINKS or more different links of one e-mail within BURST_WINDOW. Every
   request of the burst is automated, the earlier ones too (they are re-classified).
Everything else is human. Only the confirming POST ever records an answer, so a scanner can
inflate views at worst, never answers.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from app.tracking.models import EventClass

SCANNER_WINDOW = timedelta(seconds=10)
BURST_WINDOW = timedelta(seconds=5)
BURST_LINKS = 3
LINK_BURST = "link-burst"  # the class_reason of every event in a burst

_AUTOMATED_AGENTS = re.compile(
    r"bot\b|crawler|spider|preview|scanner|safelinks|mimecast|proofpoint|barracuda|"
    r"trendmicro|symantec|forcepoint|fireeye|python-requests|python-urllib|aiohttp|httpx|"
    r"curl/|wget/|go-http-client|java/|okhttp|headlesschrome|phantomjs|slackbot|"
    r"facebookexternalhit|whatsapp|skypeuripreview|microsoft office|ms-office|outlook-ios",
    re.IGNORECASE,
)

# Networks whose requests are mail scanners, never people. Short on purpose: only ranges a
# vendor documents as its mail-filtering service, where no one browses.
# Source: Microsoft, "Microsoft 365 URLs and IP address ranges", Exchange Online, ID 2
# (*.mail.protection.outlook.com, Exchange Online Protection, which runs Safe Links); the
# scanner requests reported in gophish issue #973 came from 40.107.218.12, inside 40.107.0.0/16.
SCANNER_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = tuple(
    ipaddress.ip_network(net)
    for net in (
        "40.92.0.0/15",
        "40.107.0.0/16",
        "52.100.0.0/14",
        "104.47.0.0/17",
        "2a01:111:f400::/48",
        "2a01:111:f403::/48",
    )
)

Verdict = tuple[EventClass, str]


@functools.lru_cache(maxsize=4096)
def _automated_agent(user_agent: str) -> bool:
    """Whether the agent names a scanner (cached: a send morning brings few different agents)."""
    return _AUTOMATED_AGENTS.search(user_agent) is not None


HUMAN: Verdict = (EventClass.human, "")


def is_scanner_address(address: str | None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # e.g. "testclient", or a proxy that passes a name
    return any(ip in net for net in SCANNER_NETWORKS)


def classify(
    *,
    method: str,
    user_agent: str | None,
    sent_at: datetime | None,
    now: datetime,
    client_address: str | None = None,
) -> Verdict:
    """The event's class and the rule that decided it (kept with the event for tuning).

    The burst rule needs the requests around this one; `burst_began` applies it afterwards.
    """
    if method.upper() == "HEAD":
        return EventClass.automated, "head-request"
    if not user_agent:
        return EventClass.automated, "no-user-agent"
    if _automated_agent(user_agent):
        return EventClass.automated, "scanner-user-agent"
    if is_scanner_address(client_address):
        return EventClass.automated, "scanner-address"
    if sent_at is not None and now - sent_at < SCANNER_WINDOW:
        return EventClass.automated, "too-soon-after-delivery"
    return HUMAN


def burst_began(hits: Iterable[tuple[datetime, str]], now: datetime) -> datetime | None:
    """Rule 5 for a request at `now`, given the e-mail's link hits (when, which link), its own
    included: when BURST_LINKS or more different links were opened in the BURST_WINDOW up to
    `now`, the time the burst began; else None. The hits of every serving process come from the
    database (app/tracking/visits.py)."""
    recent = [(at, link) for at, link in hits if now - BURST_WINDOW <= at <= now]
    if len({link for _, link in recent}) < BURST_LINKS:
        return None
    return min(at for at, _ in recent)
