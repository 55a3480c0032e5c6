"""scripts/test: lint first, then both databases even when the first fails; non-zero if either
failed. Run in a copy of the repository's scripts with stand-ins for the tools in .venv/bin."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

# A stand-in pytest: notes which database it ran on and exits as the test asks.
FAKE_PYTEST = """#!/usr/bin/env bash
echo "pytest db=${NANOLEARN_TEST_DATABASE_URL:-sqlite} args=$*" >> "$CALLS"
if [ -n "${NANOLEARN_TEST_DATABASE_URL:-}" ]; then exit "$PG_RC"; fi
exit "$SQLITE_RC"
"""
FAKE_TOOL = """#!/usr/bin/env bash
echo "$(basename "$0")" >> "$CALLS"
"""
FAKE_PYTHON = "#!/usr/bin/env bash\ncat > /dev/null\nexit 0\n"  # PostgreSQL answers


def _sandbox(root: Path) -> Path:
    (root / "scripts").mkdir()
    for name in ("test", "_venv.sh"):
        shutil.copy2(REPO / "scripts" / name, root / "scripts" / name)
    for stub in ("install-browser", "install-dovecot"):
        (root / "scripts" / stub).write_text("#!/usr/bin/env bash\nexit 0\n")
    shutil.copy2(REPO / "pyproject.toml", root / "pyproject.toml")
    bin_dir = root / ".venv/bin"
    bin_dir.mkdir(parents=True)
    for name, text in (
        ("pytest", FAKE_PYTEST),
        ("ruff", FAKE_TOOL),
        ("mypy", FAKE_TOOL),
        ("lint-imports", FAKE_TOOL),
        ("python", FAKE_PYTHON),
    ):
        (bin_dir / name).write_text(text)
    for path in [
        *bin_dir.iterdir(),
        root / "scripts/install-browser",
        root / "scripts/install-dovecot",
    ]:
        path.chmod(0o755)
    digest = hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()
    (root / ".venv/.installed-test").write_text(digest + "\n")  # ensure_venv installs nothing
    return root


@pytest.mark.parametrize(
    ("sqlite_rc", "pg_rc", "expected"),
    [(0, 0, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1), (5, 0, 0), (2, 5, 1)],
)
def test_both_databases_run_and_either_failure_fails_the_script(
    tmp_path: Path, sqlite_rc: int, pg_rc: int, expected: int
) -> None:
    root = _sandbox(tmp_path)
    calls = tmp_path / "calls.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NANOLEARN_TEST_DATABASE_URL")}
    env |= {"CALLS": str(calls), "SQLITE_RC": str(sqlite_rc), "PG_RC": str(pg_rc)}
    done = subprocess.run(
        [str(root / "scripts/test"), "-q", "tests/x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == expected, done.stdout + done.stderr
    lines = calls.read_text().splitlines()
    # lint, types and layer contracts first
    assert lines[:4] == ["ruff", "ruff", "mypy", "lint-imports"]
    assert lines[4:] == [
        "pytest db=sqlite args=-q tests/x",
        "pytest db=postgresql+psycopg://postgres@127.0.0.1:5432/test args=-q tests/x",
    ]
    if expected:
        assert "== FAILED" in done.stderr
