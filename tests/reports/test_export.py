from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from app.campaigns.service import get_campaign
from app.reports.export import (
    csv_chunks,
    guard_formula,
    json_chunks,
    xlsx_chunks,
)
from app.reports.schemas import ReportCampaign
from app.reports.service import CompletionRow, completion_rows, report_campaign
from app.reports.tables import EMPLOYEE, ReportBy
from tests.reports.conftest import EXPECTED, Scenario

STOCKHOLM = ZoneInfo("Europe/Stockholm")
GENERATED_AT = datetime(2026, 2, 2, 12, 0, tzinfo=UTC)
SWEDISH_HEADERS = [
    "Efternamn",
    "Förnamn",
    "E-post",
    "Förvaltning",
    "Anställningsnummer",
    "Lektioner skickade",
    "Lektioner lästa",
    "Frågor besvarade",
    "Rätt första försöket",
    "Avanmäld",
    "Avanmäld datum",
    "Genomfört (%)",
    "Studsade",
    "Studsorsak",
]


def _expected_cells(with_date: object) -> list[list[object]]:
    """EXPECTED as spreadsheet cells; only Cecilia opted out (on 21 January, local time)."""
    cells = []
    for name, email, dept, number, *counts, opted_out, pct in EXPECTED:
        when = with_date if opted_out else None
        first, _, last = name.rpartition(" ")
        first_cell = first or None  # an erased person: "(raderad)" as last name, no first name
        cells.append(
            [
                last,
                first_cell,
                email,
                dept,
                number,
                *counts,
                "Ja" if opted_out else "Nej",
                when,
                pct,
                0,
                None,
            ]
        )
    return cells


def _row(**changes: object) -> CompletionRow:
    base = dict(
        employee_id=1,
        name="Anna Andersson",
        first_name="Anna",
        last_name="Andersson",
        email="anna@kommun.example",
        department="Ekonomi",
        employee_number="E1",
        lessons_sent=1,
        lessons_viewed=1,
        questions_answered=1,
        correct_first_attempt=1,
        opted_out=False,
        opted_out_at=None,
        completion_pct=25,
    )
    base.update(changes)
    return CompletionRow(**base)  # type: ignore[arg-type]


def test_headers_are_swedish() -> None:
    assert list(EMPLOYEE.headers) == SWEDISH_HEADERS


def test_csv_opens_in_excel(session: Session, scenario: Scenario) -> None:
    data = b"".join(csv_chunks(EMPLOYEE, completion_rows(session, scenario.campaign_id), STOCKHOLM))
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.count("\r\n") == 7 and "\n" not in text.replace("\r\n", "")
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))  # comma: the default
    assert header == SWEDISH_HEADERS
    expected = [["" if v is None else str(v) for v in row] for row in _expected_cells("2026-01-21")]
    assert rows == expected


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+46 8 123", "'+46 8 123"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rCR", "'\rCR"),
        ("Anna-Karin", "Anna-Karin"),
        ("", ""),
    ],
)
def test_guard_formula(raw: str, shown: str) -> None:
    assert guard_formula(raw) == shown


def test_csv_guards_every_text_cell() -> None:
    evil = _row(
        last_name="=1+2", first_name="-A", email="@x", department="+Ekonomi", employee_number="-7"
    )
    text = b"".join(csv_chunks(EMPLOYEE, [evil], STOCKHOLM)).decode("utf-8-sig")
    [_, cells] = list(csv.reader(io.StringIO(text, newline="")))
    assert cells[:5] == ["'=1+2", "'-A", "'@x", "'+Ekonomi", "'-7"]
    assert cells[5:] == ["1", "1", "1", "1", "Nej", "", "25", "0", ""]


def test_csv_is_streamed_in_chunks() -> None:
    rows = (_row(employee_id=n, name=f"Person {n}") for n in range(5000))
    chunks = list(csv_chunks(EMPLOYEE, rows, STOCKHOLM))
    assert len(chunks) > 3
    assert max(len(c) for c in chunks) < 80 * 1024
    assert b"".join(chunks).count(b"\r\n") == 5001


def test_xlsx_has_the_same_numbers(session: Session, scenario: Scenario) -> None:
    rows = completion_rows(session, scenario.campaign_id)
    before = set(Path(tempfile.gettempdir()).glob("nanolearn-report-*"))
    workbook = load_workbook(io.BytesIO(b"".join(xlsx_chunks(EMPLOYEE, rows, STOCKHOLM))))
    assert set(Path(tempfile.gettempdir()).glob("nanolearn-report-*")) == before
    sheet = workbook.active
    assert sheet is not None
    assert sheet.freeze_panes == "A2"
    header, *values = list(sheet.iter_rows(values_only=True))
    assert list(header) == SWEDISH_HEADERS
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.column_dimensions["C"].width > 20
    assert [list(v) for v in values] == _expected_cells(datetime(2026, 1, 21))
    assert sheet["L2"].data_type == "n" and sheet["K4"].is_date


def test_xlsx_keeps_formulas_as_text() -> None:
    evil = _row(last_name="=1+2", department="#N/A", opted_out=True, opted_out_at=datetime.now(UTC))
    sheet = load_workbook(io.BytesIO(b"".join(xlsx_chunks(EMPLOYEE, [evil], STOCKHOLM)))).active
    assert sheet is not None
    assert (sheet["A2"].value, sheet["A2"].data_type) == ("=1+2", "s")
    assert (sheet["D2"].value, sheet["D2"].data_type) == ("#N/A", "s")


def test_json_shape(session: Session, scenario: Scenario) -> None:
    campaign = get_campaign(session, scenario.campaign_id)
    header = report_campaign(session, campaign, GENERATED_AT)
    rows = completion_rows(session, scenario.campaign_id)
    body = json.loads(b"".join(json_chunks(ReportBy.employee, EMPLOYEE, header, rows)))
    assert body["campaign"] == {
        "id": scenario.campaign_id,
        "name": "Våren 2026",
        "status": "running",
        "course_id": campaign.course_id,
        "course_title": "Kurs radikalisering",
        "lessons_in_course": 4,
        "start_date": "2026-01-05",
        "end_date": None,
        "generated_at": "2026-02-02T12:00:00Z",
    }
    assert len(body["rows"]) == 6
    cecilia = body["rows"][2]
    assert cecilia == {
        "employee_id": cecilia["employee_id"],
        "name": "Cecilia Ceder",
        "first_name": "Cecilia",
        "last_name": "Ceder",
        "email": "cecilia.ceder@kommun.example",
        "department": "Socialtjänst",
        "employee_number": "S1",
        "lessons_sent": 2,
        "lessons_viewed": 1,
        "questions_answered": 1,
        "correct_first_attempt": 1,
        "opted_out": True,
        "opted_out_at": "2026-01-20T23:30:00Z",
        "completion_pct": 25,
        "bounced": 0,
        "bounce_reason": "",
    }


def test_json_of_no_rows_is_valid() -> None:
    header = ReportCampaign(
        id=1,
        name="Tom",
        status="draft",
        course_id=1,
        course_title="",
        lessons_in_course=0,
        start_date=date(2026, 1, 1),
        end_date=None,
        generated_at=GENERATED_AT,
    )
    assert json.loads(b"".join(json_chunks(ReportBy.employee, EMPLOYEE, header, [])))["rows"] == []
