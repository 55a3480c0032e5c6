#!/usr/bin/env python3
"""scripts/bench_public.py's setup: the servers it measures and the database it fills.

The app runs on the same uvicorn settings as `nanolearn serve`, and so does the bare app (three
routes returning pre-made pages of the app's sizes: the ceiling for this server). Each runs in a
child process: `python scripts/bench_public_setup.py serve app|bare PORT WORKERS`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_dispatch import start_campaign  # same folder

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SECRET = "bench-secret-" + "0123456789abcdef" * 3
SLOT = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"
)
NAT_ADDRESSES = [f"198.51.{i // 250}.{i % 250 + 1}" for i in range(1000)]


def app_env(url: str, workdir: Path) -> dict[str, str]:
    """The app's settings for a bench database."""
    return {
        "NANOLEARN_DATABASE_URL": url,
        "NANOLEARN_SECRET_KEY": SECRET,
        "NANOLEARN_BASE_URL": "https://nanolearn.kommun.example",
        "NANOLEARN_DATA_DIR": str(workdir / "data"),
        "NANOLEARN_LESSONS_DIR": str(REPO / "lessons"),
        "NANOLEARN_MAIL_FROM": "Nanolearn <kurs@kommun.example>",
        "NANOLEARN_SMTP_URL": "smtp://127.0.0.1:1",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def uvicorn_options(port: int, workers: int) -> dict[str, object]:
    """What `nanolearn serve` passes to uvicorn, for the app and the bare endpoint alike."""
    return {
        "host": "127.0.0.1",
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "log_config": None,
        "workers": workers,
        "forwarded_allow_ips": "127.0.0.1",
    }


def bare_app(sizes: dict[str, int]) -> object:
    """Three routes returning pre-made pages of the app's sizes: the ceiling for this server."""
    from fastapi import FastAPI, Form
    from fastapi.responses import HTMLResponse

    pages = {name: "<!doctype html>" + "x" * max(0, size - 15) for name, size in sizes.items()}
    app = FastAPI()

    @app.get("/l/{token}")
    async def lesson(token: str) -> HTMLResponse:
        return HTMLResponse(pages["view"])

    @app.get("/a/{token}/{key}/{option}")
    async def choose(token: str, key: str, option: int) -> HTMLResponse:
        return HTMLResponse(pages["click"])

    @app.post("/a/{token}/{key}")
    async def confirm(token: str, key: str, option: str = Form()) -> HTMLResponse:
        return HTMLResponse(pages["confirm"])

    return app


def serve_main(kind: str, port: int, workers: int) -> None:
    """Child process: the app (settings from NANOLEARN_*) or the bare app, until SIGTERM."""
    import uvicorn

    if kind == "bare":
        sizes = json.loads(os.environ["BENCH_SIZES"])
        uvicorn.run(bare_app(sizes), **uvicorn_options(port, 1))  # type: ignore[arg-type]
        return
    if workers > 1:  # as `nanolearn serve --workers N` runs its serving processes
        options = uvicorn_options(port, workers)
        uvicorn.run("app.main:serving_app", factory=True, **options)  # type: ignore[arg-type]
        return
    from app.core.runtime import tune_gc_for_serving
    from app.main import create_app

    app = create_app()
    tune_gc_for_serving()  # as `nanolearn serve` does
    uvicorn.run(app, **uvicorn_options(port, 1))  # type: ignore[arg-type]


@contextmanager
def server(kind: str, env: dict[str, str], workers: int = 1) -> Iterator[tuple[str, list[int]]]:
    """A server process; yields its base URL and the pids that serve (the workers, if any)."""
    import httpx

    port = free_port()
    cmd = [sys.executable, __file__, "serve", kind, str(port), str(workers)]
    process = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(base + "/healthz", timeout=2)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the {kind} server did not start") from None
            time.sleep(0.1)
    try:
        yield base, children(process.pid) if workers > 1 else [process.pid]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def high_water_mb(pids: list[int]) -> int:
    """The largest VmHWM (peak resident memory) among the serving processes."""
    peak = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmHWM:\s+(\d+) kB", status)
        peak = max(peak, int(found.group(1)) // 1024 if found else 0)
    return peak


# --- the data -----------------------------------------------------------------------------


def prepare(env: dict[str, str], employees: int) -> tuple[list[dict[str, object]], int, str]:
    """Employees, a running campaign, one planned slot marked sent an hour ago.

    Returns every e-mail's links, the campaign id and an admin key for the reports."""
    from sqlalchemy import select, update

    from app.auth.models import Role
    from app.auth.service import create_api_key
    from app.core.clock import FakeClock
    from app.core.config import Settings
    from app.core.links import Links
    from app.core.migrate import upgrade
    from app.core.runtime import Runtime
    from app.delivery.jobs import plan_once
    from app.lessons.content import load_versions
    from app.outbox.models import Delivery, DeliveryStatus, delivery_items

    os.environ.update(env)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    runtime = Runtime.create(settings, clock=FakeClock(SLOT - timedelta(hours=3)))
    upgrade(runtime.engine)
    now = runtime.clock.now()
    with runtime.session_factory() as session:
        campaign = start_campaign(session, settings, employees, now)
        _, key = create_api_key(session, "bench", Role.admin, now)
        session.commit()
        campaign_id = campaign.id  # type: ignore[attr-defined]
    runtime.clock.set(SLOT + timedelta(minutes=1))
    report = plan_once(runtime)
    assert report is not None and report.planned == employees, report
    sent_at = datetime.now(UTC) - timedelta(hours=1)
    links: list[dict[str, object]] = []
    with runtime.session_factory() as session:
        session.execute(
            update(Delivery).values(status=DeliveryStatus.sent, sent_at=sent_at, attempts=1)
        )
        session.commit()
        deliveries = session.scalars(select(Delivery).order_by(Delivery.id)).all()
        versions = load_versions(
            session, {(lid, h) for d in deliveries for lid, h, _ in delivery_items(d)}
        )
        base = settings.base_url
        for d in deliveries:
            mail = Links.for_delivery(base, settings.secret(), d.id)
            item = versions[delivery_items(d)[0][:2]]
            options = len(item.version.options)
            links.append(
                {
                    "view": mail.view().removeprefix(base),
                    "answers": [
                        mail.answer(item.key, i).removeprefix(base) for i in range(options)
                    ],
                    "post": mail.answer_post(item.key),
                    "unsubscribe": mail.unsubscribe().removeprefix(base),
                }
            )
    runtime.engine.dispose()
    return links, campaign_id, key


# --- what the app answers and stores ------------------------------------------------------


def page_sizes(base: str, links: list[dict[str, object]]) -> dict[str, int]:
    import httpx

    mail = links[-1]
    answers = mail["answers"]
    assert isinstance(answers, list)
    headers = {"User-Agent": BROWSER_UA, "X-Forwarded-For": NAT_ADDRESSES[0]}
    return {
        "view": len(httpx.get(f"{base}{mail['view']}", headers=headers).content),
        "click": len(httpx.get(f"{base}{answers[0]}", headers=headers).content),
        "confirm": len(
            httpx.post(f"{base}{mail['post']}", data={"option": "0"}, headers=headers).content
        ),
    }


def reports(base: str, campaign_id: int, key: str) -> object:
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    completion = httpx.get(
        f"{base}/api/v1/reports/completion?campaign={campaign_id}&format=json&by=department",
        headers=headers,
        timeout=60,
    )
    learning = httpx.get(f"{base}/api/v1/campaigns/{campaign_id}/learning", headers=headers)
    assert completion.status_code == 200 and learning.status_code == 200
    return [completion.json()["rows"], learning.json()["funnel"]]


def stored_events(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from app.core.db import make_engine
    from app.tracking.models import Event

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Event.classification, Event.class_reason, func.count()).group_by(
                Event.classification, Event.class_reason
            )
        ).all()
    engine.dispose()
    return {f"{c}/{r}": n for c, r, n in rows}


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    serve_main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
