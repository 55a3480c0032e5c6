"""`nanolearn employees import`: the report, the errors and the exit code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import get_settings
from app.employees.models import Employee
from tests.conftest import TEST_SECRET
from tests.employees.files import make_csv, make_xlsx, staff
from tests.employees.hostile import bad_csv, xlsx_with_rows

runner = CliRunner()


@pytest.fixture(autouse=True)
def cli_database(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, session: Session
) -> Iterator[None]:
    # `session` makes sure the engine fixture cleans the PostgreSQL tables afterwards.
    monkeypatch.setenv("NANOLEARN_DATABASE_URL", database_url)
    monkeypatch.setenv("NANOLEARN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NANOLEARN_SECRET_KEY", TEST_SECRET)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli, ["employees", "import", *args])
    return result.exit_code, result.stdout


def emails(session: Session) -> dict[str, bool]:
    session.expire_all()
    return {e.email or "": e.active for e in session.scalars(select(Employee))}


def test_import_prints_counts_and_saves(tmp_path: Path, session: Session) -> None:
    path = tmp_path / "personal.xlsx"
    path.write_bytes(make_xlsx(staff(3)))
    code, out = invoke(str(path))
    assert code == 0, out
    assert "Importen är klar" in out
    assert "Nya" in out and "Avaktiverade" in out
    assert len(emails(session)) == 3

    csv = tmp_path / "personal.csv"
    csv.write_bytes(make_csv(staff(2), encoding="cp1252"))
    code, out = invoke(str(csv), "--sync")
    assert code == 0, out
    assert emails(session)["person2@kommun.se"] is False


def test_dry_run_saves_nothing(tmp_path: Path, session: Session) -> None:
    path = tmp_path / "personal.csv"
    path.write_bytes(make_csv(staff(2)))
    code, out = invoke(str(path), "--dry-run")
    assert code == 0, out
    assert "Provkörning: inget sparades" in out
    assert "utan --dry-run" in out
    assert emails(session) == {}


def test_errors_are_listed_per_row_and_exit_1(tmp_path: Path, session: Session) -> None:
    rows = staff(3)
    rows[2][0] = "fel@"
    rows[3][0] = rows[1][0]
    path = tmp_path / "personal.csv"
    path.write_bytes(make_csv(rows))
    code, out = invoke(str(path))
    assert code == 1
    lines = out.splitlines()
    assert any(line.startswith("rad 3, e-post: Ogiltig e-postadress") for line in lines), out
    assert any(
        line.startswith("rad 4, e-post: Samma e-postadress finns redan på rad 2") for line in lines
    ), out
    assert "2 rader har fel; inget importerades" in out
    assert "Rätta raderna ovan och kör kommandot igen" in out
    assert emails(session) == {}


def test_unreadable_file_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "personal.txt"
    path.write_bytes(make_csv(staff(1), encoding="utf-16"))
    code, out = invoke(str(path))
    assert code == 1
    assert "fil: Filen är sparad som UTF-16" in out
    assert "Rätta filen och kör kommandot igen" in out


def test_missing_file_and_wrong_type_give_messages_not_tracebacks(tmp_path: Path) -> None:
    code, out = invoke(str(tmp_path / "finns-inte.csv"))
    assert code == 1
    assert "Filen finns inte" in out
    assert "Traceback" not in out

    pdf = tmp_path / "personal.pdf"
    pdf.write_bytes(b"%PDF-1.7")
    code, out = invoke(str(pdf))
    assert code == 1
    assert "Filtypen (.pdf) stöds inte" in out


def test_oversize_file_is_refused(tmp_path: Path) -> None:
    from app.employees.importer import MAX_FILE_BYTES

    path = tmp_path / "stor.csv"
    with path.open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)  # sparse: no 20 MB written to disk
    code, out = invoke(str(path))
    assert code == 1
    assert "Filen är för stor (högst 20 MB)" in out


def test_many_errors_list_the_first_100_and_count_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "personal.csv"
    path.write_bytes(bad_csv(250))
    code, out = invoke(str(path))
    assert code == 1
    listed = [line for line in out.splitlines() if line.startswith("rad ")]
    assert len(listed) == 100 and listed[0].startswith("rad 2, e-post: E-postadressen saknar @")
    assert "… och 150 fel till (de första 100 av 250 visas)." in out
    assert "250 rader har fel (de första 100 av 250 fel visas); inget importerades" in out


def test_hostile_files_are_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session: Session
) -> None:
    path = tmp_path / "personal.xlsx"
    path.write_bytes(xlsx_with_rows(5_000_000))
    code, out = invoke(str(path))
    assert code == 1
    assert "fil: Filen har fler än 100 000 rader under rubrikraden" in out

    monkeypatch.setenv("NANOLEARN_IMPORT_MAX_ROWS", "2")
    get_settings.cache_clear()
    small = tmp_path / "personal.csv"
    small.write_bytes(make_csv(staff(3)))
    code, out = invoke(str(small))
    assert code == 1
    assert "Filen har fler än 2 rader" in out
    assert emails(session) == {}
