"""Mail scanners replayed through the real app against a real campaign: the HR report and the
learning funnel do not move, and a person's click after them does count."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

from fastapi.testclient import TestClient

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from tests.flow import BROWSER_UA, form_action, mail_links
from tests.smtp_server import SmtpSink
from tests.tracking.campaign import (
    ANNA,
    ERIK,
    answer_count,
    events_of,
    reports,
    send_first_lesson,
)

# Safe Links fetches with an old desktop Chrome from Exchange Online Protection (gophish #973).
SAFE_LINKS_UA = (
    "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/57.0.2987.133 Safari/537.36"
)
SAFE_LINKS_ADDRESS = ("40.107.218.12", 443)
# Link previewers and scripts that forwarded or pasted links meet.
PREVIEW_AGENTS = [
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
]


def all_links(message: EmailMessage) -> list[str]:
    links = mail_links(message)
    assert links.view is not None
    answers = [url for urls in links.answers.values() for url in urls]
    return [links.view, *answers, links.unsubscribe]


def test_scanner_traffic_moves_no_number_and_a_real_click_after_it_counts(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> None:
    sent = send_first_lesson(runtime, client, clock, smtp_sink, editor_headers)
    before = reports(client, sent.campaign_id, editor_headers)
    mail = sent.mail[ANNA]
    links = all_links(mail)
    assert len(links) >= 5  # the view, one link per option, the opt-out
    delivered = clock.now()
    safe_links = TestClient(client.app, client=SAFE_LINKS_ADDRESS)

    # 1. Seconds after delivery a gateway opens every link, with a browser's user agent.
    clock.set(delivered + timedelta(seconds=2))
    for url in links:
        assert client.get(url, headers={"User-Agent": BROWSER_UA}).status_code == 200
    # 2. Another one checks them with HEAD: answered, without a body.
    clock.advance(seconds=1)
    for url in links:
        head = client.head(url, headers={"User-Agent": BROWSER_UA})
        assert head.status_code == 200 and head.content == b""
    # 3. Link previewers and scripts, and a request without any user agent.
    clock.set(delivered + timedelta(seconds=90))
    for agent, url in zip(PREVIEW_AGENTS, links, strict=False):
        assert client.get(url, headers={"User-Agent": agent}).status_code == 200
    assert client.get(links[1], headers={"User-Agent": ""}).status_code == 200
    # 4. Safe Links detonates the links later, from Microsoft's documented network.
    clock.set(delivered + timedelta(minutes=4))
    for url in links[:3]:
        assert safe_links.get(url, headers={"User-Agent": SAFE_LINKS_UA}).status_code == 200
    # 5. Forwarded to a colleague's scanner: a browser-like burst on every link of the e-mail.
    clock.set(delivered + timedelta(minutes=6))
    for url in links:
        clock.advance(seconds=0.5)
        assert client.get(url, headers={"User-Agent": BROWSER_UA}).status_code == 200

    reasons = [reason for _kind, cls, reason in events_of(runtime, mail) if cls == "automated"]
    assert len(reasons) == len(events_of(runtime, mail)), "every scanner event is automated"
    assert set(reasons) == {
        "too-soon-after-delivery",
        "head-request",
        "scanner-user-agent",
        "no-user-agent",
        "scanner-address",
        "link-burst",
    }
    # The burst's first links looked human when they came; the burst re-classified them.
    assert reasons[-(len(links) - 1) :] == ["link-burst"] * (len(links) - 1)
    assert answer_count(runtime) == 0, "no GET ever records an answer"
    assert reports(client, sent.campaign_id, editor_headers) == before

    # Twenty minutes after delivery Anna reads the lesson and answers: that counts.
    clock.set(delivered + timedelta(minutes=20))
    view = mail_links(mail).view
    assert view is not None
    assert client.get(view, headers={"User-Agent": BROWSER_UA}).status_code == 200
    clock.advance(seconds=40)
    options = next(iter(mail_links(mail).answers.values()))
    page = client.get(options[0], headers={"User-Agent": BROWSER_UA})
    confirmed = client.post(form_action(page.text), data={"option": "0"})
    assert confirmed.status_code == 200
    after = reports(client, sent.campaign_id, editor_headers)
    assert after["completion"][ANNA] == {"lessons_viewed": 1, "questions_answered": 1}
    assert after["completion"][ERIK] == before["completion"][ERIK]
    assert after["funnel"]["viewed"] == before["funnel"]["viewed"] + 1
    assert after["funnel"]["answered"] == before["funnel"]["answered"] + 1
    assert events_of(runtime, mail)[-2:] == [
        ("view", "human", ""),
        ("answer_click", "human", ""),
    ]

    # She reports the e-mail as phishing later; the scanner's burst leaves her clicks alone.
    clock.set(delivered + timedelta(minutes=45))
    for url in links:
        client.get(url, headers={"User-Agent": BROWSER_UA})
    assert reports(client, sent.campaign_id, editor_headers) == after


def test_one_link_tapped_again_and_again_is_no_burst(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> None:
    sent = send_first_lesson(runtime, client, clock, smtp_sink, editor_headers)
    clock.advance(minutes=15)
    option = next(iter(mail_links(sent.mail[ERIK]).answers.values()))[1]
    for _ in range(4):  # an impatient person on a slow connection
        clock.advance(seconds=0.3)
        assert client.get(option, headers={"User-Agent": BROWSER_UA}).status_code == 200
    assert {cls for _kind, cls, _reason in events_of(runtime, sent.mail[ERIK])} == {"human"}
    after = reports(client, sent.campaign_id, editor_headers)
    assert after["completion"][ERIK]["lessons_viewed"] == 1


def test_head_on_every_public_link_is_answered_and_recorded_as_automated(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> None:
    sent = send_first_lesson(runtime, client, clock, smtp_sink, editor_headers)
    clock.advance(minutes=30)  # long after delivery: only the method gives it away
    links = all_links(sent.mail[ERIK])
    for url in links:
        response = client.head(url, headers={"User-Agent": BROWSER_UA})
        assert response.status_code == 200, url
        assert response.content == b""
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["x-content-type-options"] == "nosniff"
    broken = links[0].rsplit("/", 1)[0] + "/AAAA.BBBB"
    missing = client.head(broken, headers={"User-Agent": BROWSER_UA})
    assert missing.status_code == 404 and missing.content == b""
    events = events_of(runtime, sent.mail[ERIK])
    assert len(events) == len(links) - 1  # the opt-out page records nothing
    assert {(cls, reason) for _kind, cls, reason in events} == {("automated", "head-request")}
