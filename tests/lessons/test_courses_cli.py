"""`nanolearn courses import|export` and `nanolearn campaigns local-help`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import cli
from app.lessons.models import LessonVersion
from tests.lessons.courses import edit_workbook, fixture_zip
from tests.lessons.test_cli import env  # noqa: F401  (the fixture)

runner = CliRunner()


@pytest.fixture(autouse=True)
def _emptied_afterwards(engine: Engine) -> None:
    """The engine fixture empties a PostgreSQL test database after the test: the CLI writes."""


def test_import_dry_run_import_export_and_import_again(
    tmp_path: Path,
    env: None,  # noqa: F811
    session: Session,
) -> None:
    course = tmp_path / "trygghet.zip"
    course.write_bytes(fixture_zip())
    dry = runner.invoke(cli, ["courses", "import", str(course), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Nya lektioner: try-01, try-02" in dry.output and "provkörning" in dry.output
    assert session.scalar(select(func.count(LessonVersion.id))) == 0
    assert runner.invoke(cli, ["courses", "import", str(course)]).exit_code == 0
    exported = tmp_path / "ut.xlsx"
    result = runner.invoke(cli, ["courses", "export", "trygghet", "-o", str(exported)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(cli, ["courses", "import", str(exported)])
    assert "Oförändrade: try-01, try-02" in again.output
    assert session.scalar(select(func.count(LessonVersion.id))) == 2


def test_import_prints_every_problem_with_its_cell_and_exits_1(
    tmp_path: Path,
    env: None,  # noqa: F811
) -> None:
    def broken(workbook) -> None:  # type: ignore[no-untyped-def]
        workbook["Lektioner"]["L2"] = "G"

    course = tmp_path / "k.xlsx"
    course.write_bytes(edit_workbook(broken))
    result = runner.invoke(cli, ["courses", "import", str(course)])
    assert result.exit_code == 1
    assert (
        "blad Lektioner, rad 2, kolumn Rätt svar: Rätt svar ska vara en bokstav A–E"
        in result.output
    )
    assert "inget sparades" in result.output


def test_local_help_from_a_file(
    tmp_path: Path,
    env: None,  # noqa: F811
) -> None:
    course = tmp_path / "trygghet.zip"
    course.write_bytes(fixture_zip())
    runner.invoke(cli, ["courses", "import", str(course)])
    body = tmp_path / "c.json"
    body.write_text(
        '{"name": "T", "course": "trygghet", "schedule": {"start_date": "2026-01-05", '
        '"weekdays": ["tue"], "time": "08:30"}}'
    )
    assert runner.invoke(cli, ["campaigns", "create", str(body)]).exit_code == 0
    help_file = tmp_path / "hjalp.md"
    help_file.write_text("# Rubrik\n\nRing 0123-45 67 89", encoding="utf-8")
    refused = runner.invoke(cli, ["campaigns", "local-help", "1", str(help_file)])
    assert refused.exit_code == 1 and "rubriker med # och ## är inte tillåtna" in refused.output
    help_file.write_text("Ring socialtjänsten: 0123-45 67 89", encoding="utf-8")
    saved = runner.invoke(cli, ["campaigns", "local-help", "1", str(help_file)])
    assert saved.exit_code == 0, saved.output
    assert runner.invoke(cli, ["campaigns", "local-help", "1", "--clear"]).exit_code == 0
