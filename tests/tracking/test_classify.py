"""The classification rule, rule by rule, and the link-burst memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.tracking.classify import (
    BURST_LINKS,
    BURST_WINDOW,
    SCANNER_WINDOW,
    burst_began,
    classify,
    is_scanner_address,
)
from tests.flow import BROWSER_UA

SENT = datetime(2026, 3, 3, 7, 30, tzinfo=UTC)
LATER = SENT + timedelta(minutes=30)


def verdict(
    *, method: str = "GET", agent: str | None = BROWSER_UA, at: datetime = LATER, address: str = ""
) -> tuple[str, str]:
    return classify(method=method, user_agent=agent, sent_at=SENT, now=at, client_address=address)


def test_a_person_later_with_a_browser_is_human() -> None:
    assert verdict() == ("human", "")


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"method": "HEAD"}, "head-request"),
        ({"method": "head"}, "head-request"),
        ({"agent": None}, "no-user-agent"),
        ({"agent": ""}, "no-user-agent"),
        ({"agent": "Mozilla/5.0 (compatible; Barracuda Sentinel)"}, "scanner-user-agent"),
        ({"agent": "curl/8.5.0"}, "scanner-user-agent"),
        ({"address": "40.107.218.12"}, "scanner-address"),
        ({"address": "52.101.0.9"}, "scanner-address"),
        ({"address": "2a01:111:f403:c000::1"}, "scanner-address"),
        ({"at": SENT + SCANNER_WINDOW - timedelta(seconds=1)}, "too-soon-after-delivery"),
    ],
)
def test_each_rule(kwargs: dict, reason: str) -> None:
    assert verdict(**kwargs) == ("automated", reason)


def test_the_first_matching_rule_names_the_reason() -> None:
    assert verdict(method="HEAD", agent=None) == ("automated", "head-request")
    soon = SENT + timedelta(seconds=1)
    assert verdict(address="40.107.1.1", at=soon) == ("automated", "scanner-address")


@pytest.mark.parametrize("address", ["", "testclient", "192.0.2.7", "40.106.255.255", "::1"])
def test_other_addresses_are_no_scanners(address: str) -> None:
    assert not is_scanner_address(address)


def test_exactly_the_scanner_window_after_delivery_is_human() -> None:
    assert verdict(at=SENT + SCANNER_WINDOW) == ("human", "")


def test_a_burst_needs_enough_different_links_within_the_window() -> None:
    hits: list[tuple[datetime, str]] = []

    def hit(link: str, at: datetime) -> datetime | None:
        hits.append((at, link))
        return burst_began(hits, at)

    assert hit("l:", LATER) is None
    assert hit("l:", LATER + timedelta(seconds=1)) is None  # the same link again
    assert burst_began([(LATER, "a:x:0")], LATER) is None  # another e-mail's hits are apart
    assert hit("a:x:0", LATER + timedelta(seconds=2)) is None
    began = hit("a:x:1", LATER + timedelta(seconds=3))
    assert BURST_LINKS == 3
    assert began == LATER  # the burst reaches back to its first request


def test_links_further_apart_than_the_window_make_no_burst() -> None:
    hits: list[tuple[datetime, str]] = []
    step = BURST_WINDOW / 2 + timedelta(milliseconds=1)
    for i in range(6):
        hits.append((LATER + step * i, f"a:x:{i}"))
        assert burst_began(hits, LATER + step * i) is None


def test_hits_after_the_request_do_not_count_to_its_burst() -> None:
    hits = [(LATER, "l:"), (LATER + timedelta(seconds=1), "a:x:0")]
    later = [(LATER + timedelta(seconds=2), "a:x:1")]
    assert burst_began(hits + later, LATER + timedelta(seconds=1)) is None
    assert burst_began(hits + later, LATER + timedelta(seconds=2)) == LATER
