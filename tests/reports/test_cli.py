from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.auth.audit import list_audit
from app.core.config import get_settings
from app.reports.cli import app
from tests.conftest import TEST_SECRET
from tests.reports.conftest import EXPECTED, Scenario, full_name

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("NANOLEARN_DATABASE_URL", database_url)
    monkeypatch.setenv("NANOLEARN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NANOLEARN_SECRET_KEY", TEST_SECRET)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("lang", "delimiter", "word"),
    [("en_GB.UTF-8", ",", "komma"), ("sv_SE.UTF-8", ";", "semikolon"), ("C", ";", "semikolon")],
)
def test_cli_writes_csv(
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    lang: str,
    delimiter: str,
    word: str,
) -> None:
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", lang)
    target = tmp_path / "rapport.csv"
    args = ["completion", "--campaign", str(scenario.campaign_id), "-o", str(target)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "Skrev 6 rader" in said and "rapport.csv" in said and f"med {word}" in said
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    assert [full_name(r) for r in rows[1:]] == [e[0] for e in EXPECTED]
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.usefixtures("cli_env")
def test_cli_takes_the_format_from_the_file_name(scenario: Scenario, tmp_path: Path) -> None:
    target = tmp_path / "rapport.json"
    args = ["completion", "-c", str(scenario.campaign_id), "-o", str(target)]
    assert runner.invoke(app, args).exit_code == 0
    body = json.loads(target.read_text(encoding="utf-8"))
    assert [r["questions_answered"] for r in body["rows"]] == [e[6] for e in EXPECTED]


@pytest.mark.usefixtures("cli_env")
def test_cli_writes_xlsx_on_request(scenario: Scenario, tmp_path: Path) -> None:
    target = tmp_path / "rapport.bin"
    args = ["completion", "-c", str(scenario.campaign_id), "--format", "xlsx", "-o", str(target)]
    assert runner.invoke(app, args).exit_code == 0
    assert target.read_bytes().startswith(b"PK")  # a zip, i.e. an XLSX workbook


@pytest.mark.usefixtures("cli_env")
def test_cli_unknown_campaign(scenario: Scenario, tmp_path: Path) -> None:
    target = tmp_path / "rapport.csv"
    result = runner.invoke(app, ["completion", "--campaign", "999999", "-o", str(target)])
    assert result.exit_code == 1
    assert "Det finns ingen kampanj med id 999999" in result.output
    assert not target.exists()


@pytest.mark.usefixtures("cli_env")
def test_cli_by_department_with_semicolons(
    scenario: Scenario, tmp_path: Path, session: Session
) -> None:
    target = tmp_path / "avd.csv"
    args = ["completion", "-c", str(scenario.campaign_id), "--by", "department"]
    result = runner.invoke(app, [*args, "--separator", "semicolon", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "Skrev 1 rad " in result.output
    lines = target.read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith("Förvaltning;") and lines[1].startswith("Övriga (små grupper);6;12;")
    [entry] = list_audit(session, action="export.completion")
    assert (entry.rows, entry.actor.startswith("cli"), entry.detail["by"]) == (
        1,
        True,
        "department",
    )
