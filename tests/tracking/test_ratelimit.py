"""Rate limits on the public links: per client address and per token, a Swedish 429 page."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from app.core.clock import FakeClock
from app.core.config import Settings
from app.core.ratelimit import WINDOW_SECONDS, SlidingWindowLimiter
from app.core.runtime import Runtime
from app.main import create_app
from app.tracking.ratelimit import PER_ADDRESS, PER_TOKEN, PublicLimits
from tests.flow import BROWSER_UA, mail_links
from tests.smtp_server import SmtpSink
from tests.tracking.campaign import ANNA, ERIK, events_of, send_first_lesson

T0 = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)


def test_limiter_allows_the_limit_then_says_how_long_to_wait() -> None:
    limiter = SlidingWindowLimiter(limit=3, window=60)
    assert [limiter.hit("k", T0) for _ in range(3)] == [None, None, None]
    wait = limiter.hit("k", T0)
    assert wait is not None and 60 <= wait <= 61
    assert limiter.hit("other", T0) is None  # keys are counted apart
    assert limiter.hit("k", T0 + timedelta(seconds=wait)) is None


def test_limiter_slides_over_the_window_boundary() -> None:
    limiter = SlidingWindowLimiter(limit=10, window=60)
    late = T0 + timedelta(seconds=50)
    assert all(limiter.hit("k", late) is None for _ in range(10))
    # Fifteen seconds later, in the next fixed window, the previous one still weighs 55/60:
    # one more request fits, a second does not.
    assert limiter.hit("k", late + timedelta(seconds=15)) is None
    assert limiter.hit("k", late + timedelta(seconds=15)) is not None
    # A full window after the burst it is free again.
    assert limiter.hit("k", late + timedelta(seconds=61)) is None


def test_limiter_memory_is_bounded() -> None:
    limiter = SlidingWindowLimiter(limit=1, window=60, max_keys=5)
    for i in range(50):
        limiter.hit(f"k{i}", T0)
    assert len(limiter._keys) == 5


def test_one_link_hammered_gets_a_swedish_429_page_and_records_nothing_more(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> None:
    sent = send_first_lesson(runtime, client, clock, smtp_sink, editor_headers)
    clock.advance(minutes=30)
    view = mail_links(sent.mail[ANNA]).view
    assert view is not None
    browser = {"User-Agent": BROWSER_UA}
    for _ in range(PER_TOKEN):
        assert client.get(view, headers=browser).status_code == 200
    limited = client.get(view, headers=browser)
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("text/html")
    assert 'lang="sv"' in limited.text and "För många försök" in limited.text
    assert int(limited.headers["retry-after"]) > 0
    assert limited.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in limited.headers["content-security-policy"]
    # Posting the answer form is limited too, and records nothing.
    options = next(iter(mail_links(sent.mail[ANNA]).answers.values()))
    assert client.post(options[0].rsplit("/", 1)[0], data={"option": "0"}).status_code == 429
    assert len(events_of(runtime, sent.mail[ANNA])) == PER_TOKEN
    # Another person's link from the same address still works.
    erik = mail_links(sent.mail[ERIK]).view
    assert erik is not None and client.get(erik, headers=browser).status_code == 200
    # After the wait the link works again.
    clock.advance(seconds=int(limited.headers["retry-after"]))
    assert client.get(view, headers=browser).status_code == 200


def test_one_address_trying_many_tokens_is_limited(client: TestClient, clock: FakeClock) -> None:
    # The app's own limiter, set to a small address limit so the test needs few requests.
    app = client.app
    assert isinstance(app.state.public_limits, PublicLimits)
    app.state.public_limits = PublicLimits(per_address=5, per_token=PER_TOKEN)
    other = TestClient(app, client=("198.51.100.20", 40000))
    for i in range(5):
        assert client.get(f"/l/guess{i}.x").status_code == 404
    assert client.get("/l/guess-more.x").status_code == 429
    assert client.head("/u/guess-more.x").status_code == 429
    assert client.post("/a/guess-more.x/rad-01", data={"option": "0"}).status_code == 429
    assert other.get("/l/guess-more.x").status_code == 404  # other addresses are not affected
    clock.advance(seconds=2 * WINDOW_SECONDS)
    assert client.get("/l/guess-again.x").status_code == 404


def test_the_limits_leave_room_for_a_municipality_behind_one_address() -> None:
    # Everyone at work may share one NAT address; one e-mail has a handful of links.
    assert PER_ADDRESS >= 20 * PER_TOKEN
    assert PER_TOKEN >= 10


def test_a_workplace_of_2000_behind_one_nat_address_opens_its_mail_in_10_minutes() -> None:
    # Everyone opens the lesson, clicks an answer and confirms it (3 requests each), arriving
    # in a steady stream over 10 minutes from the one NAT address, with the default settings.
    # The gate's own decision rule, with the counts the database would hold.
    limits = PublicLimits.from_settings(Settings())
    start = datetime(2026, 1, 6, 7, 0, tzinfo=UTC)
    people, minutes, refused = 2000, 10, 0
    counts: dict[int, Counter[str]] = {}
    for person in range(people):
        at = start + timedelta(seconds=person * minutes * 60 / people)
        for step in range(3):
            moment = at + timedelta(seconds=20 * step)
            window = limits.window_of(moment)
            now_counts = counts.setdefault(window, Counter())
            before = counts.get(window - 1, Counter())
            keys = ("a-office", f"t-{person}")
            known = {k: (before[k], now_counts[k]) for k in keys}
            [wait] = limits.decide([keys], known, moment)
            refused += wait is not None
            if wait is None:
                now_counts.update(keys)
    assert refused == 0


def test_the_public_limits_are_settings(runtime: Runtime, clock: FakeClock) -> None:
    settings = runtime.settings.model_copy(
        update={"public_rate_per_address": 12, "public_rate_per_token": 5}
    )
    app = create_app(Runtime(settings, runtime.engine, runtime.session_factory, clock))
    office = TestClient(app, client=("192.0.2.7", 40000))
    codes = [office.get(f"/l/guess{i}.x").status_code for i in range(13)]
    assert codes == [404] * 12 + [429]
    one_link = TestClient(app, client=("192.0.2.8", 40000))
    codes = [one_link.get("/l/same.x").status_code for _ in range(6)]
    assert codes == [404] * 5 + [429]
