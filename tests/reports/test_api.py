from __future__ import annotations

import csv
import io
import json

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from app.auth.audit import list_audit
from tests.reports.conftest import EXPECTED, Scenario, full_name

URL = "/api/v1/reports/completion"
# The fake clock starts on Monday 5 January 2026.
TODAY = "2026-01-05"


def test_csv_download(
    client: TestClient, reporter_headers: dict[str, str], scenario: Scenario
) -> None:
    params = {"campaign": scenario.campaign_id, "format": "csv"}
    response = client.get(URL, params=params, headers=reporter_headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="genomforande-{scenario.campaign_id}-{TODAY}.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    # No Accept-Language: the installation's language, Swedish, so semicolons.
    header, *rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert header[:2] == ["Efternamn", "Förnamn"]
    assert header[-3:] == ["Genomfört (%)", "Studsade", "Studsorsak"]
    assert [(full_name(r), int(r[7]), int(r[11])) for r in rows] == [
        (e[0], e[6], e[9]) for e in EXPECTED
    ]


def test_xlsx_download(
    client: TestClient, reporter_headers: dict[str, str], scenario: Scenario
) -> None:
    params = {"campaign": scenario.campaign_id, "format": "xlsx"}
    response = client.get(URL, params=params, headers=reporter_headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["content-disposition"] == (
        f'attachment; filename="genomforande-{scenario.campaign_id}-{TODAY}.xlsx"'
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(full_name(v), v[5], v[6]) for v in values] == [(e[0], e[4], e[5]) for e in EXPECTED]


def test_json_inline(
    client: TestClient, reporter_headers: dict[str, str], scenario: Scenario
) -> None:
    params = {"campaign": scenario.campaign_id, "format": "json"}
    response = client.get(URL, params=params, headers=reporter_headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"].startswith("inline;")
    body = json.loads(response.content)
    assert body["campaign"]["id"] == scenario.campaign_id
    assert body["campaign"]["lessons_in_course"] == 4
    assert [r["lessons_viewed"] for r in body["rows"]] == [e[5] for e in EXPECTED]


def test_needs_a_key(client: TestClient, scenario: Scenario) -> None:
    response = client.get(URL, params={"campaign": scenario.campaign_id})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_unknown_campaign(client: TestClient, reporter_headers: dict[str, str]) -> None:
    response = client.get(URL, params={"campaign": 999_999}, headers=reporter_headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["errors"] == [{"field": "campaign", "message": "okänd kampanj 999999"}]


def test_bad_format(
    client: TestClient, reporter_headers: dict[str, str], scenario: Scenario
) -> None:
    params = {"campaign": scenario.campaign_id, "format": "pdf"}
    response = client.get(URL, params=params, headers=reporter_headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["format"]


def test_missing_campaign_parameter(client: TestClient, reporter_headers: dict[str, str]) -> None:
    response = client.get(URL, headers=reporter_headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["campaign"]


def test_semicolon_csv_for_swedish_excel(
    client: TestClient, reporter_headers: dict[str, str], scenario: Scenario
) -> None:
    params = {"campaign": scenario.campaign_id, "format": "csv", "separator": "semicolon"}
    english = {**reporter_headers, "Accept-Language": "en"}
    response = client.get(URL, params=params, headers=english)  # the explicit choice wins
    assert response.content.startswith("\ufeffEfternamn;Förnamn;E-post;".encode())
    lines = response.content.decode("utf-8-sig").split("\r\n")
    rows = list(csv.reader(lines[:-1], delimiter=";"))
    assert [full_name(r) for r in rows[1:]] == [e[0] for e in EXPECTED]


def test_by_department_hides_small_groups(
    client: TestClient, reporter_headers: dict[str, str], scenario: Scenario
) -> None:
    params = {"campaign": scenario.campaign_id, "by": "department", "format": "csv"}
    response = client.get(URL, params=params, headers=reporter_headers)
    assert response.headers["content-disposition"] == (
        f'attachment; filename="genomforande-forvaltning-{scenario.campaign_id}-{TODAY}.csv"'
    )
    text = response.content.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert header[:2] == ["Förvaltning", "Anställda"]
    # Both departments are under 5 people: one merged row of 6.
    assert rows == [["Övriga (små grupper)", "6", "12", "7", "6", "5", "1", "0", "21", "Nej"]]


def test_by_lesson_as_json(
    client: TestClient, reporter_headers: dict[str, str], scenario: Scenario
) -> None:
    params = {"campaign": scenario.campaign_id, "by": "lesson", "format": "json"}
    body = client.get(URL, params=params, headers=reporter_headers).json()
    assert body["by"] == "lesson"
    assert [r["answered"] for r in body["rows"]] == [3, 2, 0, 0]
    assert body["summary"]["enrolled"] == 6 and body["summary"]["completion_pct"] == 21


def test_xlsx_has_a_summary_sheet(
    client: TestClient, reporter_headers: dict[str, str], scenario: Scenario
) -> None:
    params = {"campaign": scenario.campaign_id, "by": "department", "format": "xlsx"}
    workbook = load_workbook(
        io.BytesIO(client.get(URL, params=params, headers=reporter_headers).content)
    )
    assert workbook.sheetnames == ["Per förvaltning", "Sammanfattning"]
    table = workbook["Per förvaltning"]
    assert table.freeze_panes == "A2" and table.auto_filter.ref == "A1:J2"
    assert table["A1"].font.b and table["A1"].fill.fgColor.rgb == "FF1F4E78"
    summary = {
        r[0]: r[1] for r in workbook["Sammanfattning"].iter_rows(min_row=2, values_only=True)
    }
    assert summary["Inskrivna"] == 6 and summary["Genomfört (%)"] == 21
    assert summary["Startdatum"].date().isoformat() == "2026-01-05"
    assert workbook["Sammanfattning"]["B19"].number_format == "0.0%"  # the retention target


def test_every_export_is_in_the_audit_log(
    client: TestClient, reporter_headers: dict[str, str], scenario: Scenario, session: Session
) -> None:
    for by in ("employee", "department", "lesson"):
        params = {"campaign": scenario.campaign_id, "by": by, "format": "xlsx"}
        assert client.get(URL, params=params, headers=reporter_headers).status_code == 200
    entries = list_audit(session, action="export.completion")
    assert [(e.detail["by"], e.rows, e.detail["complete"]) for e in reversed(entries)] == [
        ("employee", 6, True),
        ("department", 1, True),
        ("lesson", 4, True),
    ]
    assert all(e.target == f"campaign {scenario.campaign_id}" and e.api_key_id for e in entries)
