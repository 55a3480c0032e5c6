"""Times people read are in the campaign's or the installation's time zone, and say so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import get_settings
from app.core.runtime import Runtime
from tests.campaigns.test_campaign_api import BODY
from tests.conftest import TEST_SECRET
from tests.flow import add_staff, sync_lessons


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("NANOLEARN_DATABASE_URL", database_url)
    monkeypatch.setenv("NANOLEARN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NANOLEARN_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("NANOLEARN_TIMEZONE", "Europe/Helsinki")
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_env")
def test_campaigns_list_and_key_list_show_local_time_with_its_zone(
    client: TestClient, runtime: Runtime, editor_headers: dict[str, str]
) -> None:
    sync_lessons(runtime)
    add_staff(runtime, "Vård och omsorg", 2)
    add_staff(runtime, "Socialförvaltningen", 2)
    body = {
        **BODY,
        "schedule": {**BODY["schedule"], "start_date": "2031-09-02", "time": "08:30"},
    }
    campaign = client.post("/api/v1/campaigns", json=body, headers=editor_headers).json()
    started = client.post(f"/api/v1/campaigns/{campaign['id']}/start", headers=editor_headers)
    assert started.status_code == 200, started.text
    listed = CliRunner().invoke(cli, ["campaigns", "list"])
    assert listed.exit_code == 0, listed.output
    assert "2031-09-02 08:30 (Europe/Stockholm)" in listed.output  # the campaign's own zone
    assert "UTC" not in listed.output and "Pågår" in listed.output
    keys = CliRunner().invoke(cli, ["apikey", "list"])
    assert keys.exit_code == 0, keys.output
    # The fake clock's Monday 5 January 2026, 00:00 UTC is 02:00 in Helsinki.
    assert "(Europe/Helsinki)" in keys.output and "skapad" in keys.output
