"""Hostile staff lists through the API: each is a clear 4xx naming the problem, short, and
nothing is written. (Memory and time of the same files: test_upload_memory.py.)"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core.runtime import Runtime
from tests.employees.files import make_csv, staff
from tests.employees.hostile import bad_csv, with_declared_size, xlsx_with_rows, xlsx_with_sheet
from tests.employees.test_api import employee_count, upload

SHEET = "xl/worksheets/sheet1.xml"


def file_problem(response: Any) -> str:
    """The one whole-file error of a 422, checked for shape; returns its message."""
    assert response.status_code == 422, response.text[:500]
    problem = response.json()
    assert [(e["row"], e["field"]) for e in problem["errors"]] == [(None, "fil")]
    assert problem["error_count"] == 1
    assert problem["detail"].endswith("Inget importerades.")
    assert len(response.content) < 2000
    message: str = problem["errors"][0]["message"]
    return message


def test_xlsx_with_5_million_rows_stops_at_the_row_limit(
    client: TestClient, editor_headers: dict[str, str], session: Session
) -> None:
    data = xlsx_with_rows(5_000_000)
    assert len(data) < 2 * 1024 * 1024
    message = file_problem(upload(client, editor_headers, data, "personal.xlsx"))
    assert "fler än 100 000 rader under rubrikraden (rad 100 002 är en för mycket)" in message
    assert "NANOLEARN_IMPORT_MAX_ROWS" in message
    assert employee_count(session) == 0


def test_row_limit_is_a_setting_and_counts_rows_under_the_header(
    client: TestClient, editor_headers: dict[str, str], runtime: Runtime, session: Session
) -> None:
    runtime.settings.import_max_rows = 3
    message = file_problem(upload(client, editor_headers, make_csv(staff(4))))
    assert "fler än 3 rader" in message and "rad 5 " in message
    assert employee_count(session) == 0
    assert upload(client, editor_headers, make_csv(staff(3))).status_code == 200


def test_unpacked_size_is_checked_against_the_setting(
    client: TestClient, editor_headers: dict[str, str], runtime: Runtime
) -> None:
    runtime.settings.import_max_unpacked_mb = 1
    message = file_problem(upload(client, editor_headers, xlsx_with_rows(100_000), "p.xlsx"))
    assert "packas upp till 3 MB, men högst 1 MB tillåts" in message


def test_zip_member_declaring_1_gb_is_refused_before_reading(
    client: TestClient, editor_headers: dict[str, str], session: Session
) -> None:
    data = with_declared_size(xlsx_with_sheet(b"<worksheet/>"), SHEET, 1024**3)
    message = file_problem(upload(client, editor_headers, data, "personal.xlsx"))
    assert "packas upp till 1 024 MB, men högst 200 MB tillåts" in message
    assert employee_count(session) == 0


def test_zip_member_holding_more_than_it_declares_is_refused(
    client: TestClient, editor_headers: dict[str, str]
) -> None:
    sheet = b'<worksheet><sheetData><row><c t="s"><v>0</v></c></row>' + b"<row/>" * 100_000
    data = with_declared_size(xlsx_with_sheet(sheet + b"</sheetData></worksheet>"), SHEET, 64)
    message = file_problem(upload(client, editor_headers, data, "personal.xlsx"))
    assert "Excel-filen kunde inte öppnas" in message


def test_xlsx_that_is_not_a_zip_is_415(client: TestClient, editor_headers: dict[str, str]) -> None:
    response = upload(client, editor_headers, b"\x00\x01garbage" * 1000, "personal.xlsx")
    assert response.status_code == 415
    assert "ingen Excel-arbetsbok" in response.json()["detail"]


def test_csv_with_a_10_mb_line_names_the_row(
    client: TestClient, editor_headers: dict[str, str], session: Session
) -> None:
    data = b"E-post;Namn\r\n" + b"x" * (10 * 1024 * 1024) + b"\r\n"
    message = file_problem(upload(client, editor_headers, data))
    assert message.startswith("Rad 2 är längre än 100 000 tecken")
    assert employee_count(session) == 0


def test_csv_with_nul_bytes_names_the_line(
    client: TestClient, editor_headers: dict[str, str], session: Session
) -> None:
    data = make_csv(staff(3)).replace(b"person1", b"per\x00son1")
    message = file_problem(upload(client, editor_headers, data))
    assert "styrtecken (kod 0) på rad 3" in message
    assert "ingen textfil" in message
    assert employee_count(session) == 0


def test_many_bad_rows_list_the_first_100_errors_and_count_all(
    client: TestClient, editor_headers: dict[str, str], session: Session
) -> None:
    response = upload(client, editor_headers, bad_csv(99_999))
    assert response.status_code == 422
    problem = response.json()
    assert [e["row"] for e in problem["errors"]] == list(range(2, 102))
    assert problem["errors"][0]["message"].startswith("E-postadressen saknar @")
    assert problem["error_count"] == 99_999
    assert problem["detail"] == (
        "99 999 rader har fel (de första 100 av 99 999 fel visas); inget importerades"
    )
    assert len(response.content) < 20_000
    assert employee_count(session) == 0
