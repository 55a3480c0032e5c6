"""`nanolearn serve --workers 2` as real processes: two serving processes and one for the jobs;
the public rate limits hold across the serving processes (the counts are in the database), and
the jobs' process runs the dev mail catcher once."""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
import subprocess
import time
from email.message import EmailMessage
from pathlib import Path

import httpx
from sqlalchemy import Engine

from app.core.ratelimit import WINDOW_SECONDS
from tests.core.test_serve import _env, editor_key, send_a_test, serving
from tests.smtp_server import free_port

LIMIT = 10


def _children(pid: int) -> list[str]:
    done = subprocess.run(
        ["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return [line for line in done.stdout.splitlines() if line.strip()]


def test_two_serving_processes_share_the_limits_and_the_jobs_run_once(
    tmp_path: Path, database_url: str, engine: Engine
) -> None:
    port, mail_port = free_port(), free_port()
    env = _env(
        tmp_path,
        database_url=database_url,
        dev_mail_port=str(mail_port),
        public_rate_per_address=str(LIMIT),
    )
    headers = editor_key(engine)
    base = f"http://127.0.0.1:{port}"

    with serving(["--port", str(port), "--workers", "2"], env, tmp_path, port):
        _within_one_window()
        send_a_test(base, headers, "Flera processer")
        # The one jobs process caught the test e-mail; its lesson link opens through a worker.
        (raw,) = [bytes(m) for m in mailbox.Maildir(tmp_path / "data/mail", create=False)]
        caught = email.message_from_bytes(raw, policy=email.policy.default)
        html = caught.get_body(preferencelist=("html",))
        assert isinstance(html, EmailMessage)
        view = next(u for u in re.findall(r'href="(http[^"]+)"', html.get_content()) if "/l/" in u)
        assert view.startswith(f"{base}/l/")
        opened = httpx.get(view, timeout=30)
        assert opened.status_code == 200 and "Testutskick" in opened.text

        # Each request on a connection of its own, so both processes take some of them.
        codes = []
        for i in range(2 * LIMIT):
            with httpx.Client(timeout=30) as fresh:
                codes.append(fresh.get(f"{base}/l/guess{i}.x").status_code)
        processes = _children(_serving_pid(port))

    # The limit is the installation's, not each process's: LIMIT requests in all (the test
    # link's included), then refusals only.
    assert codes == [404] * (LIMIT - 1) + [429] * (LIMIT + 1), codes
    # uvicorn's two workers and the jobs' process (spawned children have their own Python).
    assert len([p for p in processes if "multiprocessing" in p]) >= 3, processes


def _within_one_window() -> None:
    """The counted requests take a few seconds; they must not straddle the limit's minute
    windows, where the previous window's weight slides down and lets one more through (the
    exact count asserted above holds within one window). Near a window's end: wait for the
    next one."""
    into = time.time() % WINDOW_SECONDS
    if into > WINDOW_SECONDS - 15:
        time.sleep(WINDOW_SECONDS - into + 0.2)


def _serving_pid(port: int) -> int:
    """The pid of the `nanolearn serve` process on `port`."""
    done = subprocess.run(
        ["pgrep", "-f", f"serve --port {port} --workers"], capture_output=True, text=True
    )
    pids = [int(p) for p in done.stdout.split()]
    assert len(pids) == 1, done
    return pids[0]
