"""The README's walk-through for project leaders works as written after `scripts/run --demo`.

Its shell blocks run as they stand in bash, against the app on a real loopback port, after the
demo command has made its campaign (id 1) and 25 people: only the address, the path to .venv and
the working folder differ."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from app.campaigns.models import Campaign, CampaignStatus
from app.core.runtime import Runtime
from app.main import create_app
from tests.a11y.browser import live_server
from tests.conftest import TEST_SECRET
from tests.flow import sync_lessons
from tests.smtp_server import SmtpSink

REPO = Path(__file__).resolve().parents[2]


def _blocks(section: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def _walk_through() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("The admin API needs a key")
    end = readme.index("### The dashboard")
    blocks = _blocks(readme[start:end])
    key, staff_demo, _own_list, campaign = blocks[0], blocks[1], blocks[2], blocks[3]
    assert "KEY=$(" in key and "$ID" in campaign and "campaigns/1/" not in campaign
    return "\n".join(("set -euo pipefail", key, staff_demo, campaign))


def test_the_readme_walk_through_runs_after_the_demo(
    runtime: Runtime, smtp_sink: SmtpSink, database_url: str, tmp_path: Path
) -> None:
    sync_lessons(runtime)
    env = {
        **os.environ,
        "NANOLEARN_DATABASE_URL": database_url,
        "NANOLEARN_DATA_DIR": str(tmp_path / "data"),
        "NANOLEARN_SECRET_KEY": TEST_SECRET,
        "NANOLEARN_SMTP_URL": smtp_sink.url,
        "NANOLEARN_LESSONS_DIR": str(REPO / "lessons"),
    }
    venv = str(REPO / ".venv" / "bin") + "/"
    demo = subprocess.run(
        [f"{venv}nanolearn", "campaigns", "demo"], env=env, capture_output=True, text=True
    )
    assert demo.returncode == 0, demo.stderr
    with live_server(create_app(runtime)) as base:
        script = _walk_through().replace("http://127.0.0.1:8000", base)
        script = script.replace(".venv/bin/", venv)
        done = subprocess.run(
            ["bash", "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"status":"running"' in done.stdout.replace(" ", "")
    assert "<html" in (tmp_path / "forhandsvisning.html").read_text(encoding="utf-8")
    (test_mail,) = [m for m in smtp_sink.messages() if str(m["To"]) == "du@kommun.se"]
    assert str(test_mail["Subject"]).startswith("[Test] ")
    with runtime.session_factory() as session:
        campaigns = {c.id: c for c in session.scalars(select(Campaign))}
    assert campaigns[1].name.startswith("Demo")
    assert campaigns[2].status == CampaignStatus.running
    assert campaigns[2].start_date == date.today() + timedelta(days=7)
