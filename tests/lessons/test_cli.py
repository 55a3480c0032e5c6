"""`nanolearn lessons check` and `nanolearn lessons sync`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import Settings, get_settings
from app.lessons.models import LessonVersion
from tests.lessons.conftest import FIXTURES, lesson_text, write_course

runner = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[None]:
    """The CLI reads settings from the environment, as in production."""
    monkeypatch.setenv("NANOLEARN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("NANOLEARN_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_check_valid_folder(env: None) -> None:
    result = runner.invoke(cli, ["lessons", "check", str(FIXTURES / "valid")])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1 kurs, 2 lektioner: 0 fel, 0 varningar"


def test_check_prints_file_line_and_exits_1(tmp_path: Path, env: None) -> None:
    broken = lesson_text(replace={"title: Rubrik": "title: 112", "https": "http"})
    write_course(tmp_path, lessons={"01-forsta": broken})
    result = runner.invoke(cli, ["lessons", "check", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == (
        f"{tmp_path}/kurs/01-forsta.md:3: fältet 'title' ska vara text, inte ett tal (”112”): "
        "sätt det inom citattecken"
    )
    assert lines[1].startswith(f"{tmp_path}/kurs/01-forsta.md:16: fältet 'read_more.url' ska vara")
    assert lines[2] == "1 kurs, 1 lektion: 2 fel, 0 varningar"


def test_check_uses_the_setting_and_strict_fails_on_warnings(
    tmp_path: Path, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    warning = lesson_text(replace={"minnas.": "minnas. Och mer."})
    write_course(tmp_path, lessons={"01-forsta": warning})
    monkeypatch.setenv("NANOLEARN_LESSONS_DIR", str(tmp_path))
    get_settings.cache_clear()
    result = runner.invoke(cli, ["lessons", "check"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"{tmp_path}/kurs/01-forsta.md:4: varning: fältet 'key_point' ska vara EN mening: "
        "flytta resten till texten",
        "1 kurs, 1 lektion: 0 fel, 1 varning",
    ]
    assert runner.invoke(cli, ["lessons", "check", "--strict"]).exit_code == 1


def test_sync_loads_and_reports(env: None, session: Session) -> None:
    result = runner.invoke(cli, ["lessons", "sync", str(FIXTURES / "valid")])
    assert result.exit_code == 0, result.output
    assert "Nya kurser: trygghet" in result.output
    assert "Nya lektioner: try-01, try-02" in result.output
    assert session.scalar(select(func.count()).select_from(LessonVersion)) == 2
    again = runner.invoke(cli, ["lessons", "sync", str(FIXTURES / "valid")])
    assert again.exit_code == 0
    assert "Databasen stämmer redan med filerna: inget ändrades." in again.output


def test_sync_with_errors_writes_nothing(tmp_path: Path, env: None, session: Session) -> None:
    write_course(tmp_path, lessons={"01-forsta": lesson_text(replace={"id: t-01": "id: T"})})
    result = runner.invoke(cli, ["lessons", "sync", str(tmp_path)])
    assert result.exit_code == 1
    assert (
        f"{tmp_path}/kurs/01-forsta.md:2: id ”T” får bara innehålla små bokstäver" in result.output
    )
    assert "Inget lästes in: rätta felen ovan först." in result.output
    assert session.scalar(select(func.count()).select_from(LessonVersion)) == 0
