"""Reports for Swedish Excel: XLSX first, a CSV separator that suits the reader, readable sheets."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from tests.reports.factory import Factory

URL = "/api/v1/reports/completion"
LONG_DEPARTMENT = "Förvaltningen för arbetsmarknad, vuxenutbildning och integration"


def _csv(client: TestClient, headers: dict[str, str], campaign: int, **params: str) -> bytes:
    query = {"campaign": str(campaign), "format": "csv", **params}
    response = client.get(URL, params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response.content


def test_csv_separator_follows_the_readers_language(
    client: TestClient, reporter_headers: dict[str, str], scenario: object
) -> None:
    campaign = scenario.campaign_id  # type: ignore[attr-defined]
    swedish = {**reporter_headers, "Accept-Language": "sv-SE,sv;q=0.9,en;q=0.8"}
    english = {**reporter_headers, "Accept-Language": "en-GB,en;q=0.9"}
    for headers, delimiter in ((swedish, ";"), (reporter_headers, ";"), (english, ",")):
        text = _csv(client, headers, campaign).decode("utf-8-sig")
        assert "sep=" not in text  # Excel shows that line as a row elsewhere
        header, *rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        assert header[:3] == ["Efternamn", "Förnamn", "E-post"], header
        assert len(rows) == 6 and all(len(row) == len(header) for row in rows)
    # An explicit choice wins over the language.
    text = _csv(client, swedish, campaign, separator="comma").decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(text)))[:2] == ["Efternamn", "Förnamn"]


def test_xlsx_is_the_default_format(
    client: TestClient, reporter_headers: dict[str, str], scenario: object
) -> None:
    params = {"campaign": scenario.campaign_id}  # type: ignore[attr-defined]
    response = client.get(URL, params=params, headers=reporter_headers)
    assert response.status_code == 200
    assert response.headers["content-disposition"].endswith('.xlsx"')
    assert response.content.startswith(b"PK")


def test_xlsx_names_sorted_by_last_name_wide_columns_swedish_status(
    client: TestClient, reporter_headers: dict[str, str], scenario: object, session: Session
) -> None:
    campaign_id: int = scenario.campaign_id  # type: ignore[attr-defined]
    f = Factory(session)
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    person = f.employee("Maximiliana", "Adlercreutz-Östergren", LONG_DEPARTMENT, "L1")
    f.enroll(campaign, person)
    session.commit()
    params = {"campaign": campaign_id, "format": "xlsx"}
    workbook = load_workbook(
        io.BytesIO(client.get(URL, params=params, headers=reporter_headers).content)
    )
    sheet = workbook["Genomförande"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:4] == ["Efternamn", "Förnamn", "E-post", "Förvaltning"]
    people = [(r[0], r[1]) for r in rows[1:]]
    assert people == [
        ("Adlercreutz-Östergren", "Maximiliana"),
        ("Andersson", "Anna"),
        ("Berg", "Bertil"),
        ("Ceder", "Cecilia"),
        ("Ek", "Erik"),
        ("Fors", "Fredrik"),
        ("(raderad)", None),  # erased people have no name to sort by: last
    ]
    for column, longest in (
        ("E-post", "maximiliana.adlercreutz-östergren@kommun.example"),
        ("Förvaltning", LONG_DEPARTMENT),
        ("Efternamn", "Adlercreutz-Östergren"),
    ):
        width = sheet.column_dimensions[get_column_letter(header.index(column) + 1)].width
        assert width >= len(longest), (column, width)
    summary = dict(workbook["Sammanfattning"].iter_rows(min_row=2, values_only=True))
    assert summary["Status"] == "Pågår"
