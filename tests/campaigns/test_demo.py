"""`nanolearn campaigns demo` (scripts/run --demo): its campaign, which mails every minute,
reaches the demo people only, never staff that were there before or are imported afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.campaigns.models import Enrollment
from app.cli import cli
from app.cli.campaigns import DEMO_NAMES
from app.core.config import get_settings
from app.delivery.planner import plan_due
from app.employees.models import Employee
from tests.conftest import REPO, TEST_SECRET

runner = CliRunner()


@pytest.fixture(autouse=True)
def cli_database(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, session: Session
) -> Iterator[None]:
    # `session` makes sure the engine fixture cleans the PostgreSQL tables afterwards.
    monkeypatch.setenv("NANOLEARN_DATABASE_URL", database_url)
    monkeypatch.setenv("NANOLEARN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NANOLEARN_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("NANOLEARN_LESSONS_DIR", str(REPO / "lessons"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _enrolled(session: Session, campaign_id: int) -> set[str]:
    session.expire_all()
    query = (
        select(Employee.email)
        .join(Enrollment, Enrollment.employee_id == Employee.id)
        .where(Enrollment.campaign_id == campaign_id)
    )
    return {email or "" for email in session.scalars(query)}


def test_the_demo_campaign_reaches_only_the_demo_people(session: Session, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    staff = tmp_path / "personal.csv"
    staff.write_text(
        "Förnamn;Efternamn;E-post;Förvaltning\nKalle;Ek;kalle.ek@kommun.example;Socialförvaltningen\n",
        encoding="utf-8",
    )
    assert runner.invoke(cli, ["employees", "import", str(staff)]).exit_code == 0
    # Someone from a demo made before the demo had departments of its own.
    session.add(
        Employee(
            email="anna.lind@example.org",
            first_name="Anna",
            last_name="Lind",
            department="Socialförvaltningen",
            employee_number="DEMO001",
            active=True,
            created_at=now,
            updated_at=now,
        )
    )
    session.commit()
    assert runner.invoke(cli, ["lessons", "sync"]).exit_code == 0

    result = runner.invoke(cli, ["campaigns", "demo"])
    assert result.exit_code == 0, result.output
    campaign_id = json.loads(result.stdout.strip().splitlines()[-1])["campaign"]
    demo_people = _enrolled(session, campaign_id)
    assert len(demo_people) == len(DEMO_NAMES) == 25
    assert all(address.endswith("@example.org") for address in demo_people)

    # Staff imported after the demo: the planner enrolls the audience at every slot.
    staff.write_text(
        "Förnamn;Efternamn;E-post;Förvaltning\n"
        "Kalle;Ek;kalle.ek@kommun.example;Socialförvaltningen\n"
        "Lisa;Ny;lisa.ny@kommun.example;Utbildningsförvaltningen\n"
        "Ola;Utan;ola.utan@kommun.example;\n",
        encoding="utf-8",
    )
    assert runner.invoke(cli, ["employees", "import", str(staff)]).exit_code == 0
    report = plan_due(session, now + timedelta(minutes=5))
    session.commit()
    assert report.planned == 25
    assert _enrolled(session, campaign_id) == demo_people
