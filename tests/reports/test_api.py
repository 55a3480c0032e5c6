from __future__ import annotations

import csv
import io
import json

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.reports.conftest import EXPECTED, Scenario

URL = "/api/v1/reports/completion"
# The fake clock starts on Monday 5 January 2026.
TODAY = "2026-01-05"


def test_csv_download(
    client: TestClient, reporter_headers: dict[str, str], scenario: Scenario
) -> None:
    response = client.get(URL, params={"campaign": scenario.campaign_id}, headers=reporter_headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="genomforande-{scenario.campaign_id}-{TODAY}.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    assert header[0] == "Namn" and header[-1] == "Genomfört (%)"
    assert [(r[0], int(r[6]), int(r[10])) for r in rows] == [(e[0], e[6], e[9]) for e in EXPECTED]


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
    assert [(v[0], v[4], v[5]) for v in values] == [(e[0], e[4], e[5]) for e in EXPECTED]


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
    assert body["errors"] == [{"field": "campaign", "message": "unknown campaign 999999"}]


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
