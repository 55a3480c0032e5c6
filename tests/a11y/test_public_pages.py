"""What employees see passes axe (WCAG 2.1 A and AA) in a real Chromium on a phone-sized screen:
the lesson e-mails as sent, and the lesson, answer-confirm, answer-result and opt-out pages as
served. Screenshots go to test-artifacts/."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from fastapi.testclient import TestClient

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.main import create_app
from tests.a11y.browser import (
    PHONE,
    axe_violations,
    check_page,
    chromium,
    live_server,
    need_browser,
    report,
)
from tests.dashboard.played import SILENT, play
from tests.flow import correct_options, inbox, mail_links
from tests.smtp_server import SmtpSink

TEST_BASE = "http://testserver"  # BASE_URL in the tests: the links in the e-mails start with it


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def _with_review(sink: SmtpSink) -> EmailMessage:
    for received in sink.received:
        message = received.message
        if "Minns du?" in _html(message):
            return message
    raise AssertionError("no e-mail with a review question yet")


def test_emails_and_public_pages_pass_axe(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> None:
    need_browser()
    from playwright.sync_api import expect  # after need_browser: it may not be installed

    play(client, runtime, clock, smtp_sink, editor_headers, slots=3)
    first, latest = inbox(smtp_sink, SILENT)[0], inbox(smtp_sink, SILENT)[-1]
    review = _with_review(smtp_sink)
    right = correct_options(runtime, "radikalisering")
    problems: dict[str, str] = {}

    with live_server(create_app(runtime)) as base, chromium() as browser:
        page = browser.new_context(viewport=PHONE, locale="sv-SE").new_page()
        # First make sure axe really runs and reports: a field without a label must fail.
        page.set_content('<html lang="sv"><title>x</title><main><input></main></html>')
        assert "label" in {v["id"] for v in axe_violations(page)}

        def visit(url: str) -> Any:
            response = page.goto(url.replace(TEST_BASE, base))
            assert response is not None
            return response

        for name, message in (("email-lesson", first), ("email-review", review)):
            page.set_content(_html(message))
            check_page(page, name, problems)

        links = mail_links(latest)
        assert links.view is not None
        assert visit(links.view).status == 200
        check_page(page, "lesson-page", problems)

        key, urls = next(iter(links.answers.items()))
        visit(urls[(right[key] + 1) % len(urls)])
        check_page(page, "answer-confirm", problems)
        page.get_by_role("button", name="Skicka svar").click()
        expect(page.get_by_role("heading", name="Inte riktigt")).to_be_visible()
        check_page(page, "answer-result-wrong", problems)

        key, urls = next(iter(mail_links(first).answers.items()))
        visit(urls[right[key]])
        page.get_by_role("button", name="Skicka svar").click()
        expect(page.get_by_role("heading", name="Rätt svar!")).to_be_visible()
        check_page(page, "answer-result-right", problems)

        visit(links.unsubscribe)
        check_page(page, "opt-out-confirm", problems)
        page.get_by_role("button", name="Ja, avsluta").click()
        expect(page.get_by_role("heading", name="Klart!")).to_be_visible()
        check_page(page, "opt-out-done", problems)

        assert visit(f"{base}/l/not-a-token").status == 404
        check_page(page, "link-not-found", problems)

    assert not problems, report(problems)
