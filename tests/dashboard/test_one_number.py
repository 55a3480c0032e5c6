"""One number, one meaning: on the same data, every surface that shows a figure under the same
name shows the same value (dashboard list, campaign API, CLI list, HR export summary)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import get_settings
from app.core.runtime import Runtime
from tests.conftest import TEST_SECRET


def _dashboard_row(client: TestClient, campaign_id: int) -> list[str]:
    page = client.get("/dashboard").text
    row = re.search(
        rf'<tr>\s*<th scope="row"><a href="/dashboard/campaigns/{campaign_id}">.*?</tr>', page, re.S
    )
    assert row is not None
    return [
        re.sub(r"<[^>]+>|\s+", "", c)
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
    ]


def test_the_same_figure_is_the_same_number_everywhere(
    played: int,
    client: TestClient,
    runtime: Runtime,
    editor_headers: dict[str, str],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    api = client.get(f"/api/v1/campaigns/{played}", headers=editor_headers).json()["counts"]
    summary = client.get(
        f"/api/v1/reports/completion?campaign={played}&format=json", headers=editor_headers
    ).json()
    rows = summary["rows"]
    cells = _dashboard_row(client, played)  # course, status, enrolled, lessons sent, answered, next
    enrolled, lessons_sent, answered = (int(c.replace("\u00a0", "")) for c in cells[2:5])

    monkeypatch.setenv("NANOLEARN_DATABASE_URL", database_url)
    monkeypatch.setenv("NANOLEARN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NANOLEARN_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("COLUMNS", "250")  # one line per campaign
    get_settings.cache_clear()  # another test may have read the settings before these
    listed = CliRunner().invoke(cli, ["campaigns", "list"])
    get_settings.cache_clear()
    assert listed.exit_code == 0, listed.output
    table = [[c.strip() for c in ln.split("│")[1:-1]] for ln in listed.output.splitlines()]
    line = next(r for r in table if r and r[0] == str(played))
    numbers = [int(n) for n in line[4:7]]  # enrolled, sent, answered

    assert answered >= 1 and lessons_sent >= 1
    assert api["answered"] == answered == summary["summary"]["questions_answered"]
    assert answered == sum(r["questions_answered"] for r in rows)
    assert api["enrolled"] == enrolled == summary["summary"]["enrolled"] == len(rows)
    assert lessons_sent == sum(r["lessons_sent"] for r in rows)
    assert numbers[:3] == [enrolled, api["sent"], answered], line
