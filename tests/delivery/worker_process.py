"""A real `nanolearn worker` in its own process, for the crash and multi-worker tests.

Run as a script it starts `run_worker` (the code behind `nanolearn worker`) configured by the
NANOLEARN_* environment, on a clock that starts at NANOLEARN_TEST_CLOCK_START and then runs at
real speed, so a campaign's slot is due however far the machine's date is from it. Imported, it
offers the helpers the tests use to set up a large campaign and start workers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The slot of the campaigns made here: Monday 2026-01-05 09:00 in Stockholm.
SLOT = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


class RunningClock:
    """Starts at a given instant and runs at real speed (monotonic, never jumps back)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.t0)


def main() -> None:
    from app.core.config import Settings
    from app.core.logging import configure_logging
    from app.core.runtime import Runtime
    from app.worker import run_worker

    configure_logging()
    start = datetime.fromisoformat(os.environ["NANOLEARN_TEST_CLOCK_START"])
    runtime = Runtime.create(Settings(_env_file=None), clock=RunningClock(start))  # type: ignore[call-arg]
    asyncio.run(run_worker(runtime))


# --- helpers for the tests ---------------------------------------------------------------


def make_campaign(
    runtime: object, employees: int, *, batch: str = "p", schedule: dict[str, object] | None = None
) -> int:
    """`employees` people (p0@…, p1@…) and a running campaign, via the real services; by
    default its first slot is SLOT."""
    from app.campaigns.schemas import CampaignCreate
    from app.campaigns.service import create_campaign, transition
    from app.core.runtime import Runtime
    from app.employees.importer import EmployeeRow
    from app.employees.staff_import import import_employees
    from app.lessons.service import sync_from_settings

    assert isinstance(runtime, Runtime)
    now = runtime.clock.now()
    rows = [
        EmployeeRow(i + 2, f"{batch}{i}@kommun.example", f"Förnamn{i}", "Efternamn", "Avd", None)
        for i in range(employees)
    ]
    body = CampaignCreate.model_validate(
        {
            "name": "Stor kampanj",
            "course": "radikalisering",
            "schedule": schedule
            or {"start_date": "2026-01-05", "weekdays": ["mon"], "time": "09:00"},
        }
    )
    with runtime.session_factory() as session:
        sync_from_settings(session, runtime.settings, now)
        result = import_employees(session, rows, mode="upsert", dry_run=False, now=now)
        assert not result.errors, result.errors
        campaign = create_campaign(session, body, now)
        transition(session, campaign, "start", now)
        session.commit()
        return campaign.id


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, like a power cut or the OOM killer."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_worker(
    settings: object, clock_start: datetime, log: Path, **overrides: str | int | float
) -> Worker:
    """Start a worker process against the test database and SMTP server of `settings`."""
    from app.core.config import Settings

    assert isinstance(settings, Settings)
    assert settings.secret_key is not None
    env = {
        **os.environ,
        "NANOLEARN_DATABASE_URL": settings.database_url,
        "NANOLEARN_SMTP_URL": settings.smtp_url,
        "NANOLEARN_SECRET_KEY": settings.secret_key.get_secret_value(),
        "NANOLEARN_MAIL_FROM": settings.mail_from,
        "NANOLEARN_BASE_URL": settings.base_url,
        "NANOLEARN_DATA_DIR": str(settings.data_dir),
        "NANOLEARN_LESSONS_DIR": str(settings.lessons_dir),
        "NANOLEARN_PLAN_INTERVAL_SECONDS": "0.5",
        "NANOLEARN_DISPATCH_INTERVAL_SECONDS": "0.2",
        "NANOLEARN_TEST_CLOCK_START": clock_start.isoformat(),
    }
    env.update({f"NANOLEARN_{k.upper()}": str(v) for k, v in overrides.items()})
    handle = log.open("ab")
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve())],
        cwd=REPO,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    handle.close()
    return Worker(process, log)


def wait_for(
    condition: object, timeout: float, workers: list[Worker], what: str, every: float = 0.005
) -> None:
    """Poll `condition()` until true; fail early, with the workers' logs, if they all died."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if all(w.process.poll() is not None for w in workers):
            logs = "\n".join(w.output()[-3000:] for w in workers)
            raise AssertionError(f"every worker exited before {what}:\n{logs}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


if __name__ == "__main__":
    main()
