"""The house rules that keep app/ readable: layers hold (import-linter runs them, here too, so a
plain `pytest` catches a broken door), no two rooms import each other, no file grows too long."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
MAX_LINES = 450


def test_no_file_under_app_is_over_450_lines() -> None:
    long = {
        str(path.relative_to(APP)): n
        for path in APP.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these files (at most {MAX_LINES} lines): {long}"


def test_layer_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"],
        cwd=APP.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert "KEPT" in done.stdout and "BROKEN" not in done.stdout


def test_the_scripts_import_what_exists() -> None:
    """scripts/ are not type-checked: a moved name must not break a benchmark unnoticed."""
    import ast
    import importlib

    missing = []
    for script in sorted((APP.parent / "scripts").glob("*.py")):
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app"):
                module = importlib.import_module(str(node.module))
                missing += [
                    f"{script.name}: {node.module}.{a.name}"
                    for a in node.names
                    if not hasattr(module, a.name)
                ]
    assert missing == []
