"""The dashboard's pages and downloads, against a campaign played through the real flow."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import zipfile
from typing import cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth.models import AuditEntry
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.reports.figures import campaign_figures
from tests.dashboard.conftest import new_key, sign_in
from tests.dashboard.played import CAMPAIGN, play
from tests.smtp_server import SmtpSink


@pytest.fixture
def one_round(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> int:
    campaign_id = play(client, runtime, clock, smtp_sink, editor_headers, slots=1)
    sign_in(client, new_key(runtime))
    return campaign_id


def assert_strict_page(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>") and '<html lang="sv">' in html
    assert html.count("<h1") == 1 and '<main id="innehall"' in html
    assert '<link rel="stylesheet" href="/static/dashboard.css">' in html
    assert "<script" not in html and "<style" not in html
    assert not re.search(r"\sstyle=", html)  # the CSP allows no inline styles
    assert not re.search(r"\son\w+=", html)  # nor inline event handlers


def test_campaign_list(played: int, client: TestClient, runtime: Runtime) -> None:
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert_strict_page(page.text)
    with runtime.session_factory() as session:
        totals = campaign_figures(session, played)
    row = re.search(r"<tr>\s*<th scope=\"row\">.*?</tr>", page.text, re.S)
    assert row is not None
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row.group(0), re.S)
    assert f'href="/dashboard/campaigns/{played}">{CAMPAIGN["name"]}</a>' in cells[0]
    assert cells[1] == "Radikalisering och våldsbejakande extremism"
    assert "Pågår" in cells[2]
    assert cells[3:6] == [
        str(totals.enrolled),
        str(totals.lessons_sent),
        str(totals.questions_answered),
    ]
    assert (
        cells[6] == "tis 20 jan kl.\u00a008.00 svensk tid"
    )  # the fifth slot (Tue 6 Jan was the first)


def test_campaign_page(played: int, client: TestClient) -> None:
    page = client.get(f"/dashboard/campaigns/{played}")
    assert page.status_code == 200
    html = page.text
    assert_strict_page(html)
    assert f"<h1>{CAMPAIGN['name']}</h1>" in html
    assert (
        "Tisdagar och torsdagar kl.\u00a008.00 svensk tid" in html and "Från 5 januari 2026" in html
    )
    # Three charts, each named and described for screen readers, with its table beside it.
    charts = re.findall(r'<svg class="chart" id="(\w+)"[^>]*role="img"[^>]*>', html)
    assert charts == ["tratt", "repetition", "glomska"]
    for chart in charts:
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in html
        assert f'<title id="{chart}-title">' in html and f'<desc id="{chart}-desc">' in html
    assert html.count("Visa siffrorna som tabell") == 3
    assert "Första svaret: " in html and " rätt (" in html  # the description says the figures
    # Vård och omsorg has four people: merged with the smallest other department, so that the
    # total minus the shown departments cannot reveal it (as in the learning report and exports).
    assert re.search(r"Övriga \(små grupper\)</th>\s*<td class=\"num\">\d+</td>", html)
    assert "Vård och omsorg</th>" not in html and "Socialförvaltningen</th>" not in html
    # Everybody gets rad-01 right and rad-02 wrong at the first attempt.
    assert re.search(r"Vad är våldsbejakande extremism\?.*?För lätt", html, re.S)
    assert re.search(r"Miljöerna och de nya mönstren.*?Förvirrande", html, re.S)
    for link in (
        "completion.xlsx",
        "completion.csv",
        "completion.json",
        "completion.csv?by=department",
        "completion.xlsx?by=lesson",
        "learning.json",
    ):
        assert f'href="/dashboard/campaigns/{played}/download/{link}"' in html


def test_excel_is_the_first_and_prominent_download_and_csv_says_its_separator(
    played: int, client: TestClient
) -> None:
    html = client.get(f"/dashboard/campaigns/{played}").text
    section = html[html.index('id="ladda-ner"') :]
    buttons = re.findall(
        r'<a class="([^"]+)" href="[^"]+/completion\.(\w+)[^"]*" download>'
        r'<span aria-hidden="true">↓ </span>([^<]+)<',
        section,
    )
    per_person = buttons[:3]
    assert [(fmt, label) for _, fmt, label in per_person] == [
        ("xlsx", "Excel (XLSX)"),
        ("csv", "CSV (semikolon)"),
        ("json", "JSON"),
    ]
    assert [css.split() for css, _, _ in per_person] == [
        ["button"],
        ["button", "button-secondary"],
        ["button", "button-secondary"],
    ]
    csv_file = client.get(f"/dashboard/campaigns/{played}/download/completion.csv")
    text = csv_file.content.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert header[:3] == ["Efternamn", "Förnamn", "E-post"] and rows
    assert all(len(row) == len(header) for row in rows) and "sep=" not in text


@pytest.mark.parametrize(
    ("setting", "label", "other", "delimiter"),
    [("comma", "CSV (komma)", "semikolon", ","), ("semicolon", "CSV (semikolon)", "komma", ";")],
)
def test_the_csv_button_says_the_configured_separator(
    played: int,
    client: TestClient,
    runtime: Runtime,
    setting: str,
    label: str,
    other: str,
    delimiter: str,
) -> None:
    """With REPORT_CSV_SEPARATOR set, the button names that separator, and the file has it."""
    app = cast(FastAPI, client.app)
    app.state.settings = runtime.settings.model_copy(update={"report_csv_separator": setting})
    html = client.get(f"/dashboard/campaigns/{played}").text
    assert f"↓ </span>{label}<" in html and f"CSV ({other})" not in html
    text = client.get(f"/dashboard/campaigns/{played}/download/completion.csv").text
    header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter))
    assert header[:3] == ["Efternamn", "Förnamn", "E-post"]


def test_an_unknown_campaign_is_a_page_in_swedish(one_round: int, client: TestClient) -> None:
    for path in ("/dashboard/campaigns/999", "/dashboard/campaigns/999/download/completion.csv"):
        response = client.get(path)
        assert response.status_code == 404
        assert "<h1>Kampanjen finns inte</h1>" in response.text


def test_no_campaigns_yet(client: TestClient, runtime: Runtime) -> None:
    sign_in(client, new_key(runtime))
    page = client.get("/dashboard")
    assert "Det finns inga kampanjer än" in page.text and "<table" not in page.text


def test_downloads_are_the_api_files(
    played: int, client: TestClient, editor_headers: dict[str, str]
) -> None:
    for by, fmt in itertools.product(("employee", "department", "lesson"), ("csv", "json", "xlsx")):
        api = client.get(
            f"/api/v1/reports/completion?campaign={played}&format={fmt}&by={by}",
            headers=editor_headers,
        )
        ours = client.get(f"/dashboard/campaigns/{played}/download/completion.{fmt}?by={by}")
        assert ours.status_code == 200, ours.text
        assert ours.headers["content-type"] == api.headers["content-type"]
        filename = re.search(r'filename="([^"]+)"', api.headers["content-disposition"])
        assert filename is not None
        assert ours.headers["content-disposition"] == f'attachment; filename="{filename.group(1)}"'
        assert ours.headers["x-content-type-options"] == "nosniff"
        if fmt == "xlsx":  # a zip with its own timestamps: compare what is inside
            assert _sheets(ours.content) == _sheets(api.content)
        else:
            assert ours.content == api.content


def _sheets(xlsx: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        return {n: archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/")}


def test_downloads_are_in_the_audit_log_under_the_signed_in_key(
    one_round: int, client: TestClient, runtime: Runtime
) -> None:
    client.get(f"/dashboard/campaigns/{one_round}/download/completion.csv")
    with runtime.session_factory() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "export.completion")
        ).one()
    assert "Anna Lind, projektledare" in entry.actor
    assert entry.target == f"campaign {one_round}" and entry.rows == 13


def test_learning_download_is_the_api_report(
    one_round: int, client: TestClient, editor_headers: dict[str, str]
) -> None:
    ours = client.get(f"/dashboard/campaigns/{one_round}/download/learning.json")
    api = client.get(f"/api/v1/campaigns/{one_round}/learning", headers=editor_headers)
    assert ours.status_code == 200
    assert re.fullmatch(
        rf'attachment; filename="larande-{one_round}-\d{{4}}-\d\d-\d\d\.json"',
        ours.headers["content-disposition"],
    )
    assert json.loads(ours.content) == api.json()
