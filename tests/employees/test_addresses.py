"""Addresses the sender must treat specially: IDN domains are stored in one form (Unicode),
so both spellings are one person; letters like å before the @ import with a warning by row."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.employees.importer import normalise_email, parse_file
from app.employees.models import Employee
from tests.employees.files import HEADER_SV, make_csv
from tests.employees.test_api import upload
from tests.employees.test_cli import cli_database, invoke  # noqa: F401 (fixture)

# kommunö.se in IDNA (xn--) form. (xn--kommun-2ua.se is "èkommun.se", not "kommunö.se".)
PUNYCODE = "anna@xn--kommun-1xa.se"
ROWS = [
    HEADER_SV,
    ["anna@kommunö.se", "Anna", "Berg", "Skola", "1"],
    ["Åsa.Ek@Example.org", "Åsa", "Ek", "Skola", "2"],
    ["per@example.org", "Per", "Ek", "Skola", "3"],
]
WARNING = "rad 3, e-post: Adressen har tecken före @ (t.ex. å, ä, ö) som inte alla e-postservrar"


@pytest.mark.parametrize(
    "written",
    [
        PUNYCODE,
        "anna@kommunö.se",
        "Anna@KOMMUNÖ.SE",
        "anna@XN--KOMMUN-1XA.SE",
        "anna@kommuno\u0308.se",
    ],
)
def test_every_spelling_of_an_idn_domain_is_stored_as_unicode(written: str) -> None:
    assert normalise_email(written) == "anna@kommunö.se"


def test_local_part_is_kept_as_written_lower_case_nfc() -> None:
    assert normalise_email("A\u030asa@example.org") == "åsa@example.org"


def test_both_spellings_in_one_file_are_the_same_person() -> None:
    parsed = parse_file(make_csv([*ROWS, [PUNYCODE, "Anna", "Berg", "", ""]]), "p.csv")
    assert [(e.row, e.field) for e in parsed.errors] == [(5, "e-post")]
    assert parsed.errors[0].message.startswith("Samma e-postadress finns redan på rad 2")


def test_warnings_are_capped_and_counted() -> None:
    rows = [HEADER_SV] + [[f"åsa{i}@example.org", "Åsa", "Ek", "", ""] for i in range(150)]
    parsed = parse_file(make_csv(rows), "p.csv")
    assert parsed.errors == [] and len(parsed.rows) == 150
    assert len(parsed.warnings) == 101
    assert parsed.warnings[-1].startswith("Ytterligare 50 rader har samma varning")


def test_api_imports_with_warnings_and_matches_the_punycode_spelling(
    client: TestClient, editor_headers: dict[str, str], session: Session
) -> None:
    response = upload(client, editor_headers, make_csv(ROWS))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] == 3
    (warning,) = body["warnings"]
    assert warning.startswith(WARNING)
    assert "example.org" not in warning  # like errors, warnings never repeat the address
    stored = set(session.scalars(select(Employee.email)))
    assert stored == {"anna@kommunö.se", "åsa.ek@example.org", "per@example.org"}

    again = upload(client, editor_headers, make_csv([HEADER_SV, [PUNYCODE, "Anna", "Berg"]]))
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 1)


def test_warnings_come_with_errors_too(client: TestClient, editor_headers: dict[str, str]) -> None:
    response = upload(client, editor_headers, make_csv([*ROWS, ["fel", "X", "Y", "", ""]]))
    assert response.status_code == 422
    assert response.json()["warnings"][0].startswith(WARNING)


@pytest.mark.usefixtures("cli_database")
def test_cli_prints_the_warning_and_imports(tmp_path: Path, session: Session) -> None:
    path = tmp_path / "personal.csv"
    path.write_bytes(make_csv(ROWS))
    code, out = invoke(str(path))
    assert code == 0, out
    assert f"Obs: {WARNING}" in out
    assert "Importen är klar" in out
    assert "åsa.ek@example.org" in set(session.scalars(select(Employee.email)))
