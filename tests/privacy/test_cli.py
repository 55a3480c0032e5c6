"""The commands: `nanolearn privacy purge [--dry-run]`, `nanolearn employees erase|export ID`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import cli
from app.core.runtime import Runtime
from app.employees.models import Employee
from app.privacy.cli import app as privacy_app
from app.reports.models import CampaignAggregate
from tests.flow import sync_lessons
from tests.privacy.scenario import CAMPAIGN, NUMBER, employee_id, import_staff

runner = CliRunner()


def test_purge_dry_run_then_for_real(
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
    runtime: Runtime,
    client: TestClient,
    admin_headers: dict[str, str],
    session: Session,
) -> None:
    # The command runs on the real clock; this campaign was cancelled in January 2026.
    monkeypatch.setenv("NANOLEARN_EVENT_RETENTION_MONTHS", "1")
    sync_lessons(runtime)
    campaign = client.post("/api/v1/campaigns", json=CAMPAIGN, headers=admin_headers).json()["id"]
    client.post(f"/api/v1/campaigns/{campaign}/cancel", headers=admin_headers)

    dry = runner.invoke(privacy_app, ["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.stdout
    assert "Provkörning" in dry.stdout and f"Kampanjer: {campaign}" in dry.stdout
    assert session.get(CampaignAggregate, campaign) is None

    real = runner.invoke(privacy_app, ["purge"])
    assert real.exit_code == 0, real.stdout
    assert "Gallringen är klar" in real.stdout
    session.expire_all()
    assert session.get(CampaignAggregate, campaign) is not None
    assert "Inget att gallra" in runner.invoke(privacy_app, ["purge"]).stdout


def test_erase_asks_first_and_refuses_twice(
    cli_env: None, client: TestClient, admin_headers: dict[str, str], session: Session
) -> None:
    import_staff(client, admin_headers)
    person = employee_id(client, admin_headers, NUMBER)

    declined = runner.invoke(cli, ["employees", "erase", str(person)], input="n\n")
    assert declined.exit_code == 1
    session.expire_all()
    employee = session.get(Employee, person)
    assert employee is not None and employee.erased_at is None

    erased = runner.invoke(cli, ["employees", "erase", str(person), "--yes"])
    assert erased.exit_code == 0, erased.stdout
    assert f"Anställd {person} är raderad" in erased.stdout
    session.expire_all()
    employee = session.get(Employee, person)
    assert employee is not None and employee.email is None

    again = runner.invoke(cli, ["employees", "erase", str(person), "--yes"])
    assert again.exit_code == 1 and "raderades" in again.stdout


def test_export_writes_the_person_as_json(
    cli_env: None, client: TestClient, admin_headers: dict[str, str], tmp_path: Path
) -> None:
    import_staff(client, admin_headers)
    person = employee_id(client, admin_headers, NUMBER)
    target = tmp_path / "anstalld.json"

    result = runner.invoke(cli, ["employees", "export", str(person), "-o", str(target)])

    assert result.exit_code == 0, result.stdout
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["employee"]["employee_number"] == NUMBER
    missing = runner.invoke(cli, ["employees", "export", "999999", "-o", str(target)])
    assert missing.exit_code == 1 and "999999" in missing.stdout
