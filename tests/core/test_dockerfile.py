"""The Dockerfile, read as Docker would (Docker itself does not run here): its health check and
dependency step run for real against this repository and a live server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from app.core.runtime import Runtime
from app.main import create_app
from tests.a11y.browser import live_server
from tests.conftest import REPO
from tests.smtp_server import free_port

DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")
# Instructions with their continuation lines joined, comments dropped.
INSTRUCTIONS = [
    line.strip()
    for line in re.sub(r"\\\n\s*", " ", DOCKERFILE).splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]


def _index(prefix: str) -> int:
    return next(i for i, line in enumerate(INSTRUCTIONS) if line.startswith(prefix))


def test_dependencies_are_a_layer_of_their_own_before_the_code() -> None:
    deps = _index("RUN python -c")
    assert _index("COPY pyproject.toml ./") < deps < _index("COPY app ./app")
    assert _index("COPY app ./app") < _index("RUN pip install --no-compile --no-deps -e .")
    assert "pip install --no-compile -r /tmp/requirements.txt" in INSTRUCTIONS[deps]


def test_the_dependency_list_is_read_from_pyproject(tmp_path: Path) -> None:
    script = re.search(r'RUN python -c "([^"]+)"', DOCKERFILE)
    assert script is not None
    (tmp_path / "pyproject.toml").write_bytes((REPO / "pyproject.toml").read_bytes())
    out = subprocess.run(
        [sys.executable, "-c", script.group(1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert "fastapi>=0.115" in out and "psycopg[binary]>=3.1" in out
    assert len(out) > 10 and not any(line.startswith(("pytest", "ruff")) for line in out)


def test_the_health_check_passes_on_a_live_server_and_fails_without_one(
    runtime: Runtime, tmp_path: Path
) -> None:
    line = INSTRUCTIONS[_index("HEALTHCHECK")]
    command = json.loads(line.split(" CMD ", 1)[1])
    assert command[0] == "python"  # the slim image has no curl
    command[0] = sys.executable

    def check(port: int | str) -> int:
        done = subprocess.run(
            command, env={"NANOLEARN_PORT": str(port)}, capture_output=True, timeout=30
        )
        return done.returncode

    with live_server(create_app(runtime)) as base:
        assert check(base.rsplit(":", 1)[1]) == 0
    assert check(free_port()) != 0
