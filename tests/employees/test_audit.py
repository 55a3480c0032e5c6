"""Imports (dry runs too) and edits are audited with counts and field names, never with names
or addresses; a rejected file changes nothing and records nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.auth.models import AuditEntry
from app.cli import cli
from app.core.config import get_settings
from tests.conftest import TEST_SECRET
from tests.employees.files import make_csv, staff
from tests.employees.test_api import upload


def entries(session: Session) -> list[AuditEntry]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_imports_are_audited_with_counts_dry_runs_too(
    client: TestClient, editor_headers: dict[str, str], session: Session
) -> None:
    assert upload(client, editor_headers, make_csv(staff(3)), dry_run="true").status_code == 200
    assert upload(client, editor_headers, make_csv(staff(3))).status_code == 200
    assert upload(client, editor_headers, make_csv(staff(2)), mode="sync").status_code == 200

    dry, real, sync = entries(session)
    assert {e.action for e in (dry, real, sync)} == {"employees.import"}
    assert (dry.rows, dry.detail["dry_run"], dry.detail["created"]) == (3, True, 3)
    assert (real.rows, real.detail["dry_run"], real.detail["created"]) == (3, False, 3)
    assert (sync.rows, sync.detail["mode"], sync.detail["deactivated"]) == (2, "sync", 1)
    assert real.actor.startswith("key ") and real.api_key_id is not None
    assert "person0" not in str([e.detail for e in (dry, real, sync)])


def test_a_rejected_file_records_nothing(
    client: TestClient, editor_headers: dict[str, str], session: Session
) -> None:
    rows = staff(2)
    rows[2][0] = "inte-en-adress"
    assert upload(client, editor_headers, make_csv(rows)).status_code == 422
    assert entries(session) == []


def test_edits_record_which_fields_changed_not_the_values(
    client: TestClient, editor_headers: dict[str, str], session: Session
) -> None:
    upload(client, editor_headers, make_csv(staff(1)))
    person = client.get("/api/v1/employees", headers=editor_headers).json()["items"][0]["id"]
    url = f"/api/v1/employees/{person}"
    body = {"email": "ny.adress@kommun.se", "last_name": "Nyberg"}

    assert client.patch(url, json=body, headers=editor_headers).status_code == 200
    assert client.patch(url, json=body, headers=editor_headers).status_code == 200  # no change

    edit = entries(session)[1:]
    assert [(e.action, e.target, e.rows) for e in edit] == [
        ("employees.update", f"employee {person}", 1)
    ]
    assert edit[0].detail == {"fields": ["email", "last_name"]}


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, session: Session
) -> Iterator[None]:
    monkeypatch.setenv("NANOLEARN_DATABASE_URL", database_url)
    monkeypatch.setenv("NANOLEARN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NANOLEARN_SECRET_KEY", TEST_SECRET)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_command_line_imports_are_audited_as_cli(
    cli_env: None, tmp_path: Path, session: Session
) -> None:
    path = tmp_path / "personal.csv"
    path.write_bytes(make_csv(staff(2)))
    result = CliRunner().invoke(cli, ["employees", "import", str(path), "--dry-run"])
    assert result.exit_code == 0, result.stdout
    (entry,) = entries(session)
    assert entry.actor.startswith("cli") and entry.api_key_id is None
    assert (entry.rows, entry.detail["dry_run"]) == (2, True)
