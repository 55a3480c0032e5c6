"""The dashboard in a real headless Chromium: sign in, the campaign list, one campaign with its
charts, the CSV download, sign out. Every page passes axe (WCAG 2.1 AA) and leaves a screenshot
in test-artifacts/."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from fastapi.testclient import TestClient

from app.auth.models import Role
from app.auth.service import create_api_key
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.main import create_app
from tests.a11y.browser import (
    DESKTOP,
    PHONE,
    check_page,
    chromium,
    live_server,
    need_browser,
    report,
)
from tests.dashboard.played import CAMPAIGN, play
from tests.smtp_server import SmtpSink


def _key(runtime: Runtime, name: str) -> str:
    with runtime.session_factory() as session:
        _, plain = create_api_key(session, name, Role.reporter, runtime.clock.now())
        session.commit()
    return plain


def _open_all_tables(page: Any) -> None:
    # Folded tables are hidden, and axe skips what is hidden: open them to check them too.
    for summary in page.locator("details summary").all():
        summary.click()


def test_sign_in_read_a_campaign_and_download_the_csv(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> None:
    need_browser()
    from playwright.sync_api import expect  # after need_browser: it may not be installed

    campaign_id = play(client, runtime, clock, smtp_sink, editor_headers)
    draft = {
        **CAMPAIGN,
        "name": "Våld i nära relationer ht 2026",
        "course": "vald-i-nara-relationer",
    }
    assert client.post("/api/v1/campaigns", json=draft, headers=editor_headers).status_code == 201
    key = _key(runtime, "Anna Lind, projektledare")
    api_csv = client.get(
        f"/api/v1/reports/completion?campaign={campaign_id}&format=csv", headers=editor_headers
    ).content
    problems: dict[str, str] = {}
    blocked: list[str] = []

    with live_server(create_app(runtime)) as base, chromium() as browser:
        context = browser.new_context(viewport=DESKTOP, locale="sv-SE", accept_downloads=True)
        page = context.new_page()
        page.on(
            "console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None
        )

        origins: list[str | None] = []  # what Chromium sends with the forms (csrf.py)
        page.on(
            "request",
            lambda r: origins.append(r.all_headers().get("origin")) if r.method == "POST" else None,
        )

        page.goto(f"{base}/dashboard/campaigns/{campaign_id}")
        expect(page).to_have_url(f"{base}/dashboard/login")
        page.get_by_label("API-nyckel").fill("nl_deadbeef_fel")
        page.get_by_role("button", name="Logga in").click()
        expect(page.get_by_role("alert")).to_contain_text("Nyckeln fungerar inte")
        check_page(page, "dashboard-login-error", problems)

        page.get_by_label("API-nyckel").fill(key)
        page.get_by_role("button", name="Logga in").click()
        expect(page).to_have_url(f"{base}/dashboard")
        expect(page.get_by_text("Inloggad som")).to_be_visible()
        expect(
            page.get_by_role("row", name=re.compile(CAMPAIGN["name"])).get_by_role(
                "cell", name="Pågår"
            )
        ).to_be_visible()
        expect(
            page.get_by_role("row", name=re.compile(draft["name"])).get_by_role(
                "cell", name="Utkast"
            )
        ).to_be_visible()
        check_page(page, "dashboard-campaigns", problems)

        page.get_by_role("link", name=CAMPAIGN["name"]).click()
        expect(page).to_have_url(f"{base}/dashboard/campaigns/{campaign_id}")
        charts = page.locator("svg[role=img]")
        expect(charts).to_have_count(3)
        for name in ("Från utskick till kunskap", "Rätt svar vid varje repetition"):
            expect(page.get_by_role("img", name=name)).to_be_visible()
        expect(page.get_by_role("img", name="Minns de över tid?")).to_be_visible()
        # Vård och omsorg has four people: merged so that no subtraction can reveal it.
        expect(page.get_by_role("rowheader", name="Övriga (små grupper)")).to_be_visible()
        expect(page.get_by_text("Förvirrande")).to_be_visible()
        check_page(page, "dashboard-campaign", problems)
        _open_all_tables(page)
        check_page(page, "dashboard-campaign-tables", problems)
        page.set_viewport_size(PHONE)  # reflow: readable on a phone without sideways scrolling
        check_page(page, "dashboard-campaign-phone", problems)
        page.set_viewport_size(DESKTOP)

        with page.expect_download() as started:
            page.get_by_role(
                "link", name=re.compile(r"^CSV \(semikolon\) – genomförande per person")
            ).click()
        download = started.value
        assert re.fullmatch(
            rf"genomforande-{campaign_id}-\d{{4}}-\d\d-\d\d\.csv", download.suggested_filename
        )
        with open(download.path(), "rb") as file:
            downloaded = file.read()

        page.get_by_role("button", name="Logga ut").click()
        expect(page).to_have_url(f"{base}/dashboard/login")
        page.goto(f"{base}/dashboard")
        expect(page).to_have_url(f"{base}/dashboard/login")
        expect(page.get_by_role("button", name="Logga in")).to_be_visible()
        check_page(page, "dashboard-login", problems)
        context.close()

    # Three form posts (wrong key, right key, sign out), each passing the token check with the
    # Origin Chromium sends under Referrer-Policy: no-referrer.
    assert len(origins) == 3 and set(origins) <= {"null", base}, origins

    assert not problems, report(problems)
    assert not blocked, blocked  # nothing on the pages needed more than the CSP allows
    assert downloaded == api_csv
    rows = list(csv.reader(io.StringIO(downloaded.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 1 + 13 and rows[0][:2] == ["Efternamn", "Förnamn"]
