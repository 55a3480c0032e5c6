"""Real-browser checks: Debian's Chromium driven by Playwright, axe-core, and the whole app served
by uvicorn on 127.0.0.1 in a thread.

Nothing is downloaded at test time: scripts/install-browser installs Chromium (apt), Playwright
(pip, into .venv) and axe-core (npm, into .cache/axe). Without them the browser tests skip and
say why, unless NANOLEARN_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("NANOLEARN_CHROMIUM") or "/usr/bin/chromium")
AXE_JS = Path(
    os.environ.get("NANOLEARN_AXE_JS") or REPO / ".cache/axe/node_modules/axe-core/axe.min.js"
)
ARTIFACTS = REPO / "test-artifacts"
# The network is closed: no first-run, sync, update or QUIC traffic, nothing that waits for it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM}"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed in .venv"
    if not AXE_JS.exists():
        return f"axe-core is not installed at {AXE_JS}"
    return None


def need_browser() -> None:
    reason = unavailable()
    if reason is None:
        return
    message = f"{reason}; run scripts/install-browser to run the browser tests"
    if os.environ.get("NANOLEARN_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve the app on a free port of 127.0.0.1 until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium. Start it after the test data is made: Playwright's sync API runs an
    event loop, and the scheduler helpers (asyncio.run) cannot run beside it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A and AA violations on the page as it is now."""
    # evaluate() runs through the DevTools protocol, so the page's strict CSP (no inline
    # scripts) stays on while axe runs.
    if not page.evaluate("typeof axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    result = page.evaluate("options => axe.run(document, options)", options)
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {node['target']}: {node['failureSummary'].splitlines()[-1].strip()}")
    return "\n".join(lines)


def check_page(page: Any, name: str, problems: dict[str, str]) -> None:
    """Save a screenshot as test-artifacts/NAME.png and note any axe violations under NAME.

    Call it once the page is known to be there (an `expect` on its content): this then also waits
    for its stylesheets, which axe's contrast check needs."""
    page.wait_for_load_state("load")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    violations = axe_violations(page)
    if violations:
        problems[name] = describe(violations)


def report(problems: dict[str, str]) -> str:
    return "\n".join(f"{name}:\n{text}" for name, text in problems.items())
