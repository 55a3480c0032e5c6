"""The whole campaign story in a real Chromium, by the page only (labels and buttons, never a
typed URL after the first): a project leader signs in, uploads a staff file with a bad row,
reads the error, uploads the fixed file and confirms; creates a campaign through the form,
reads the timeline, previews, test-sends (the e-mail arrives at a real SMTP server), starts;
the real planner and dispatcher send the first lesson on the fake clock; pauses. A reporter
then finds no way to change anything, and an admin's pages are checked too.

Every page passes axe (WCAG 2.1 AA), errors included, and leaves screenshots at desktop and
phone width in test-artifacts/."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.auth.models import Role
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.main import create_app
from tests.a11y.browser import DESKTOP, PHONE, check_page, chromium, live_server, need_browser
from tests.a11y.browser import report as axe_report
from tests.dashboard.conftest import new_key
from tests.dashboard.played import staff_csv
from tests.flow import run_until, sync_lessons
from tests.smtp_server import SmtpSink

CAMPAIGN = "Radikalisering vt 2026"
# Number columns a reader would have to scroll sideways to see (their header's text): cut off
# by the screen or by the table's own scrolling region.
NUMBERS_OFF_SCREEN = """() => [...document.querySelectorAll('table th.num')]
  .filter(th => th.offsetParent !== null)
  .filter(th => {
    const box = th.closest('.table-scroll') || document.documentElement;
    const edge = Math.min(window.innerWidth, box.getBoundingClientRect().right);
    return th.getBoundingClientRect().right > edge + 0.5;
  })
  .map(th => th.textContent.trim())"""


def check(page: Any, name: str, problems: dict[str, str]) -> None:
    """axe and a screenshot at desktop width, then at phone width, where nothing may make the
    page itself wider than the screen (wide tables scroll inside their own region)."""
    check_page(page, f"story-{name}", problems)
    page.set_viewport_size(PHONE)
    check_page(page, f"story-{name}-phone", problems)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        problems[f"{name}-phone"] = f"the page is {overflow}px wider than a 390px screen"
    hidden = page.evaluate(NUMBERS_OFF_SCREEN)
    if hidden:
        problems[f"{name}-phone-numbers"] = f"number columns off a 390px screen: {hidden}"
    page.set_viewport_size(DESKTOP)


def in_thread(work: Any) -> None:
    """The scheduler helpers use asyncio.run, which cannot run beside Playwright's loop."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    assert not thread.is_alive() and not failed, failed


def sign_in(page: Any, key: str) -> None:
    """The sign-in form the page shows (after the first visit, sign-out or a session's end)."""
    page.get_by_label("API-nyckel").fill(key)
    page.get_by_role("button", name="Logga in").click()
    from playwright.sync_api import expect

    expect(page.get_by_text("Inloggad som")).to_be_visible()


def test_a_project_leader_runs_a_campaign_from_the_browser(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    tmp_path: Path,
) -> None:
    need_browser()
    from playwright.sync_api import expect

    sync_lessons(runtime)
    editor = new_key(runtime, "Anna Lind, projektledare", Role.editor)
    reporter = new_key(runtime, "Rut Ek, ekonom", Role.reporter)
    admin = new_key(runtime, "Ola Berg, IT", Role.admin)
    fixed = tmp_path / "personal.csv"
    fixed.write_bytes(staff_csv())
    broken = tmp_path / "personal-fel.csv"
    broken.write_bytes(staff_csv().replace(b"erik.berg@kommun.example", b"erik.berg@@kommun"))
    problems: dict[str, str] = {}
    blocked: list[str] = []

    with live_server(create_app(runtime)) as base, chromium() as browser:
        context = browser.new_context(viewport=DESKTOP, locale="sv-SE", accept_downloads=True)
        page = context.new_page()
        page.on(
            "console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None
        )
        page.goto(f"{base}/dashboard")  # the only address typed: the rest is clicking
        sign_in(page, editor)

        # Staff: a file with a bad row, its error, the fixed file, the dry run, confirm.
        page.get_by_role("link", name="Personal").click()
        expect(page.get_by_role("heading", name="Personal", level=1)).to_be_visible()
        check(page, "staff-empty", problems)
        page.get_by_label("Fil med personal").set_input_files(str(broken))
        page.get_by_role("button", name="Ladda upp och granska").click()
        expect(page.get_by_role("heading", name="Filen har fel")).to_be_visible()
        bad_row = page.get_by_role("row", name=re.compile(r"^3 e-post"))
        expect(bad_row).to_contain_text("mer än ett @")
        check(page, "staff-file-errors", problems)
        page.get_by_role("link", name="Ladda upp en rättad fil").click()
        page.get_by_label("Fil med personal").set_input_files(str(fixed))
        page.get_by_role("button", name="Ladda upp och granska").click()
        expect(page.get_by_role("heading", name="Granska importen")).to_be_visible()
        expect(page.get_by_role("row", name=re.compile("^Anna Lind 2 Läggs till"))).to_be_visible()
        check(page, "staff-dry-run", problems)
        page.get_by_role("button", name="Bekräfta importen").click()
        expect(page.get_by_role("status")).to_contain_text("Personallistan är importerad")
        expect(page.get_by_text("Visar 1–13 av 13")).to_be_visible()
        check(page, "staff-list", problems)

        # A campaign through the form: first with a mistake, then right.
        page.get_by_role("link", name="Kampanjer").click()
        page.get_by_role("link", name="Ny kampanj").click()
        page.get_by_label("Namn").fill(CAMPAIGN)
        page.get_by_role("button", name="Spara utkast").click()
        expect(page.get_by_role("alert")).to_contain_text("Rätta det som är markerat")
        expect(page.get_by_label("Namn")).to_have_value(CAMPAIGN)  # what was typed stays
        check(page, "campaign-form-errors", problems)
        page.get_by_label("Kurs").select_option("radikalisering")
        page.get_by_label("Socialförvaltningen (9 personer)").check()
        page.get_by_label("Startdatum").fill("2026-01-05")
        page.get_by_role("button", name="Spara utkast").click()

        # The timeline, a preview, a test-send.
        expect(page.get_by_role("heading", name="Tidslinje om du startar nu")).to_be_visible()
        first = page.get_by_role(
            "row", name=re.compile(r"^tis 6 jan kl\. 08\.00 svensk tid Lektion 1")
        )
        expect(first).to_contain_text("9 personer")
        expect(page.get_by_text("innehåller e-posten bara repetitionsfrågor")).to_be_visible()
        check(page, "campaign-plan", problems)
        lesson_links = page.get_by_role("region", name="Förhandsvisa e-posten").get_by_role("link")
        title = lesson_links.first.inner_text().splitlines()[0].strip()
        lesson_links.first.click()
        expect(page.get_by_text(title).first).to_be_visible()
        page.screenshot(path="test-artifacts/story-email-preview.png", full_page=True)
        page.go_back()
        page.get_by_label("Din e-postadress").fill("anna.lind@kommun.example")
        page.get_by_role("button", name="Skicka prov").click()
        expect(page.get_by_role("status")).to_contain_text("Provet är skickat")
        assert [m.rcpt_tos for m in smtp_sink.received] == [["anna.lind@kommun.example"]]

        # Start, with a confirmation that says what happens.
        page.get_by_role("link", name="Starta kampanjen").click()
        expect(page.get_by_text("når 9 personer")).to_be_visible()
        check(page, "campaign-confirm-start", problems)
        page.get_by_role("button", name="Ja, starta").click()
        expect(page.get_by_role("status")).to_contain_text("Kampanjen är startad")

        # Tuesday 08.00: the real planner and dispatcher send the first lesson.
        in_thread(lambda: run_until(runtime, clock, clock.now() + timedelta(hours=27)))
        lessons = smtp_sink.received[1:]
        assert len(lessons) == 9 and all("kommun.example" in m.rcpt_tos[0] for m in lessons)
        assert title in lessons[0].message["Subject"]
        page.get_by_role("link", name="Kampanjer").click()
        sign_in(page, editor)  # a day later: the session (a working day) has ended
        row = page.get_by_role("row", name=re.compile(CAMPAIGN))
        expect(row).to_contain_text("Pågår")
        check(page, "campaigns", problems)
        page.get_by_role("link", name=CAMPAIGN).click()
        page.get_by_role("link", name="Plan, förhandsvisning och styrning").click()

        # Pause.
        page.get_by_role("link", name="Pausa kampanjen").click()
        expect(page.get_by_text("Inga fler e-postmeddelanden skickas")).to_be_visible()
        page.get_by_role("button", name="Ja, pausa").click()
        expect(page.get_by_role("status")).to_contain_text("Kampanjen är pausad")
        expect(page.get_by_role("link", name="Fortsätt kampanjen")).to_be_visible()
        check(page, "campaign-paused", problems)
        page.get_by_role("button", name="Logga ut").click()

        # A reporter: everything readable, nothing that changes anything.
        sign_in(page, reporter)
        expect(page.get_by_role("link", name="Ny kampanj")).to_have_count(0)
        page.get_by_role("link", name=CAMPAIGN).click()
        page.get_by_role("link", name="Plan och förhandsvisning").click()
        expect(page.get_by_role("heading", name="Tidslinje om du startar nu")).to_have_count(0)
        for name in ("Fortsätt kampanjen", "Avbryt kampanjen", "Ändra kampanjen"):
            expect(page.get_by_role("link", name=name)).to_have_count(0)
        expect(page.get_by_role("button", name="Skicka prov")).to_have_count(0)
        check(page, "reporter-plan", problems)
        page.get_by_role("link", name="Personal").click()
        expect(page.get_by_label("Fil med personal")).to_have_count(0)
        page.get_by_role("link", name="Anna Lind").click()
        expect(page.get_by_role("heading", name="Anna Lind")).to_be_visible()
        expect(page.locator("main form")).to_have_count(0)
        expect(page.locator("main a.button")).to_have_count(0)
        check(page, "reporter-person", problems)
        page.get_by_role("link", name="Kurser").click()
        expect(page.get_by_role("link", name="API-nycklar")).to_have_count(0)
        page.get_by_role("link", name=re.compile("Radikalisering")).click()
        check(page, "course", problems)
        page.get_by_role("link", name=re.compile("^Webbsida")).first.click()
        check(page, "lesson-page", problems)
        page.go_back()
        page.get_by_role("button", name="Logga ut").click()

        # An admin's pages: a person's data, the erase confirmation, keys, the audit log.
        sign_in(page, admin)
        page.get_by_role("link", name="Personal").click()
        page.get_by_label("Sök på namn eller e-post").fill("åberg")
        page.get_by_role("button", name="Sök").click()
        page.get_by_role("link", name="Lena Åberg").click()
        check(page, "admin-person", problems)
        page.get_by_role("link", name="Radera Lena Åberg…").click()
        expect(page.get_by_text("Detta går inte att ångra")).to_be_visible()
        check(page, "admin-erase-confirm", problems)
        page.get_by_role("link", name="API-nycklar").click()
        page.get_by_role("button", name="Skapa nyckel").click()
        expect(page.get_by_role("alert")).to_be_visible()
        check(page, "admin-keys-errors", problems)
        page.get_by_label("Vem nyckeln är till").fill("Kim, HR")
        page.get_by_label(re.compile("^Redaktör")).check()
        page.get_by_role("button", name="Skapa nyckel").click()
        expect(page.get_by_label("Ny nyckel")).to_have_value(re.compile("^nl_"))
        check(page, "admin-key-created", problems)
        page.get_by_role("link", name="Händelselogg").click()
        page.get_by_label("Gäller").select_option("campaigns.")
        page.get_by_role("button", name="Visa").click()
        expect(page.get_by_role("cell", name="campaigns.pause")).to_be_visible()
        expect(page.get_by_role("row", name=re.compile("campaigns.start"))).to_contain_text(
            "Anna Lind, projektledare"
        )
        check(page, "admin-audit", problems)
        context.close()

    assert not problems, axe_report(problems)
    assert not blocked, blocked
