"""What a hostile upload costs a real server process: peak memory above idle, answer size.

The server runs in its own process (tests/employees/upload_server.py); its peak resident size
is read from /proc after resetting it, so the figure is the upload's alone: multipart parsing,
reading, validating, the database and the answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.employees.models import Employee
from tests.conftest import TEST_SECRET
from tests.employees.files import make_csv, make_xlsx, staff
from tests.employees.hostile import bad_csv, xlsx_of_rows, xlsx_with_rows
from tests.employees.upload_server import UploadServer

MB = 1024 * 1024
BUDGET = 200 * MB
ANSWER_BUDGET = 64 * 1024

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc to read peak memory"
)


@pytest.fixture
def server(database_url: str, tmp_path: Path, session: Session) -> Iterator[UploadServer]:
    env = {
        "NANOLEARN_DATABASE_URL": database_url,
        "NANOLEARN_DATA_DIR": str(tmp_path / "data"),
        "NANOLEARN_SECRET_KEY": TEST_SECRET,
        "NANOLEARN_SMTP_URL": "smtp://127.0.0.1:9",  # not the dev catcher: nothing else runs
    }
    server = UploadServer(env)
    try:
        # Warm up: the first uploads import the code they need.
        assert server.upload(make_xlsx(staff(2)), "p.xlsx", dry_run="true").status_code == 200
        assert server.upload(make_csv(staff(2)), "p.csv", dry_run="true").status_code == 200
        yield server
    finally:
        server.stop()


def employees(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Employee)) or 0


def test_hostile_uploads_stay_under_200_mb_and_answer_briefly(
    server: UploadServer, session: Session
) -> None:
    cases = [
        ("XLSX, 5 million rows", xlsx_with_rows(5_000_000), "p.xlsx", 422),
        # 2 million shared strings: 60 MB of text, just under the 64 MB the reader keeps.
        (
            "XLSX, 60 MB of shared strings",
            xlsx_with_rows(1, extra_strings=2_000_000),
            "p.xlsx",
            422,
        ),
        ("XLSX, 100 000 people, dry run", xlsx_of_rows(staff(100_000)), "p.xlsx", 200),
        ("CSV, 4 MB of bad lines", bad_csv(4 * MB // 26), "p.csv", 422),
        ("CSV, 99 999 bad rows", bad_csv(99_999), "p.csv", 422),
        ("CSV, one 10 MB line", b"E-post;Namn\r\n" + b"x" * 10 * MB, "p.csv", 422),
        ("CSV, 20 MB of NUL", b"\x00" * 20 * MB, "p.csv", 422),
    ]
    idle = server.resident()
    figures = []
    for name, data, filename, status in cases:
        server.reset_peak()
        started = time.monotonic()
        response = server.upload(data, filename, dry_run="true")
        seconds = time.monotonic() - started
        above_idle = server.peak() - idle
        figures.append(
            f"{name}: {len(data) / MB:.1f} MB sent, peak {above_idle / MB:.0f} MB above idle, "
            f"{seconds:.1f} s, answer {len(response.content)} bytes"
        )
        assert response.status_code == status, (name, response.text[:500])
        assert above_idle < BUDGET, figures[-1]
        assert len(response.content) < ANSWER_BUDGET, figures[-1]
    print("\n" + "\n".join(figures))
    assert employees(session) == 0


def test_largest_allowed_list_imports_under_200_mb(server: UploadServer, session: Session) -> None:
    data = make_csv(staff(100_000))
    idle = server.resident()
    server.reset_peak()
    started = time.monotonic()
    response = server.upload(data, "p.csv")
    seconds = time.monotonic() - started
    above_idle = server.peak() - idle
    print(f"\nCSV, 100 000 people: peak {above_idle / MB:.0f} MB above idle, {seconds:.1f} s")
    assert response.status_code == 200, response.text[:500]
    assert response.json()["created"] == 100_000
    assert above_idle < BUDGET
    # The request's session commits as the answer goes out, so wait for it briefly.
    deadline = time.monotonic() + 30
    while employees(session) != 100_000 and time.monotonic() < deadline:
        session.rollback()  # a fresh transaction sees the server's commit
        time.sleep(0.2)
    assert employees(session) == 100_000
