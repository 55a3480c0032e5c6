#!/usr/bin/env python3
"""Benchmark the public pages (lesson view, answer link, confirm) against a bare FastAPI endpoint.

    sudo apt-get install -y wrk
    .venv/bin/python scripts/bench_public.py --database both

For each database it makes a fresh database with N employees and a running campaign through the
real services, plans one slot with the real planner and marks the e-mails sent, and builds the
links of every e-mail with app/core/links.py (the code the e-mail renderer uses). Then, with wrk
and scripts/bench_public.lua rotating over the links of --links e-mails, on the same uvicorn
settings as `nanolearn serve` (and as the bare app):

1. throughput: GET /l/…, GET /a/…/…/n and POST /a/…/… for --duration seconds each, with
   --connections connections, against the app and against a bare FastAPI app whose three routes
   return pre-made pages of the same sizes;
2. paced: the same three at --rate requests/s in all (each connection waits connections/rate
   seconds after each response: wrk has no open-loop mode; the achieved rate is printed);
3. a scanner storm: every link of every e-mail (view, each answer, opt-out page), with scanner
   user agents or a browser's from Microsoft EOP addresses (X-Forwarded-For, which the server
   honours from 127.0.0.1 as FORWARDED_ALLOW_IPS does), at the default rate limits: counts the
   5xx, checks that every answered view and click is stored with an automated class, and that
   the HR reports read the same before and after;
4. the serving process's peak memory (VmHWM of each server process).

Throughput runs send X-Forwarded-For from 1,000 addresses so the per-address limit (a NAT
workplace) does not stop them, and use a per-token limit raised to 1,000,000: the limiter is
still run for every request; the storm runs with the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET = "bench-secret-" + "0123456789abcdef" * 3
SLOT = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
LUA = Path(__file__).with_suffix(".lua")
BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"
)
SAFE_LINKS_UA = (
    "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/57.0.2987.133 Safari/537.36"
)
SCANNER_UAS = [
    "Mimecast URL Protect",
    "Proofpoint URL Defense scanner",
    "Barracuda Link Protection",
]
INSTALL_HINT = "wrk is not installed: sudo apt-get install -y wrk"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- the servers ----------------------------------------------------------------------------


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
    from app.main import create_app

    if os.environ.get("SWITCH"):
        sys.setswitchinterval(float(os.environ["SWITCH"]))
    uvicorn.run(create_app(), **uvicorn_options(port, 1))  # type: ignore[arg-type]


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


from bench_dispatch import database  # noqa: E402  (same folder: a temporary database)

# --- the data -----------------------------------------------------------------------------


def prepare(env: dict[str, str], employees: int) -> tuple[list[dict[str, object]], int, str]:
    """Employees, a running campaign, one planned slot marked sent an hour ago.

    Returns every e-mail's links, the campaign id and an admin key for the reports."""
    from sqlalchemy import select, update

    from app.auth.models import Role
    from app.auth.service import create_api_key
    from app.campaigns.schemas import CampaignCreate
    from app.campaigns.service import create_campaign, transition
    from app.core.clock import FakeClock
    from app.core.config import Settings
    from app.core.links import Links
    from app.core.migrate import upgrade
    from app.core.runtime import Runtime
    from app.delivery.jobs import plan_once
    from app.employees.importer import EmployeeRow
    from app.employees.staff_import import import_employees
    from app.lessons.content import load_versions
    from app.lessons.service import sync_from_settings
    from app.outbox.models import Delivery, DeliveryStatus, delivery_items

    os.environ.update(env)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    runtime = Runtime.create(settings, clock=FakeClock(SLOT - timedelta(hours=3)))
    upgrade(runtime.engine)
    now = runtime.clock.now()
    rows = [
        EmployeeRow(i + 2, f"anstalld{i}@kommun.example", f"Förnamn{i}", "Efternamn", "Avd", None)
        for i in range(employees)
    ]
    body = CampaignCreate.model_validate(
        {
            "name": "Bench",
            "course": "radikalisering",
            "schedule": {"start_date": "2026-01-05", "weekdays": ["mon"], "time": "09:00"},
        }
    )
    with runtime.session_factory() as session:
        sync_from_settings(session, settings, now)
        import_employees(session, rows, mode="upsert", dry_run=False, now=now)
        campaign = create_campaign(session, body, now)
        transition(session, campaign, "start", now)
        _, key = create_api_key(session, "bench", Role.admin, now)
        session.commit()
        campaign_id = campaign.id
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


# --- the load -----------------------------------------------------------------------------

NAT_ADDRESSES = [f"198.51.{i // 250}.{i % 250 + 1}" for i in range(1000)]
EOP_ADDRESSES = [f"40.107.{i // 200}.{i % 200 + 1}" for i in range(600)]


def request_lines(links: list[dict[str, object]], page: str) -> list[str]:
    """One request per e-mail, as a person would send it (a browser, a workplace address)."""
    lines = []
    for i, mail in enumerate(links):
        forwarded = NAT_ADDRESSES[i % len(NAT_ADDRESSES)]
        answers = mail["answers"]
        assert isinstance(answers, list)
        option = i % len(answers)
        if page == "view":
            lines.append(f"GET\t{mail['view']}\t{BROWSER_UA}\t{forwarded}\t")
        elif page == "click":
            lines.append(f"GET\t{answers[option]}\t{BROWSER_UA}\t{forwarded}\t")
        else:
            lines.append(f"POST\t{mail['post']}\t{BROWSER_UA}\t{forwarded}\toption={option}")
    return lines


def storm_lines(links: list[dict[str, object]], seed: int = 7) -> list[str]:
    """Every link of every e-mail, as gateways fetch them: scanner agents, or a browser's agent
    from Microsoft's EOP network; e-mails interleaved, each e-mail's links close together."""
    rng = random.Random(seed)
    lines = []
    for i, mail in enumerate(links):
        answers = mail["answers"]
        assert isinstance(answers, list)
        urls = [mail["view"], *answers, mail["unsubscribe"]]
        if i % 2:
            agent = SCANNER_UAS[i % len(SCANNER_UAS)]
            forwarded = NAT_ADDRESSES[i % len(NAT_ADDRESSES)]
        else:
            agent, forwarded = SAFE_LINKS_UA, rng.choice(EOP_ADDRESSES)
        lines.extend(f"GET\t{url}\t{agent}\t{forwarded}\t" for url in urls)
    return lines


def wrk(
    base: str,
    lines: list[str],
    *,
    duration: float,
    connections: int,
    threads: int = 2,
    limit: int = 0,
    delay_ms: int = 0,
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as handle:
        handle.write("\n".join(lines) + "\n")
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{round(duration)}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
        base,
        "--",
        handle.name,
        str(limit),
        str(delay_ms),
        str(threads),
    ]
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed: {done.stdout}{done.stderr}")
    out = done.stdout
    elapsed = time.monotonic() - started
    Path(handle.name).unlink()
    status = dict(
        (k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", out.split("STATUS", 1)[1].split("\n")[0])
    )
    pct = dict((k, float(v)) for k, v in re.findall(r"(\w+)=([\d.]+)", out.split("PCT", 1)[1]))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rate": round(rate),
        "elapsed_s": round(elapsed, 1),
        **{f"status_{k}": v for k, v in status.items()},
        **{f"{k}_ms": round(v, 1) for k, v in pct.items()},
        "socket_errors": errors.group(1) if errors else "",  # type: ignore[dict-item]
    }


def profile(pid: int, base: str, lines: list[str], args: argparse.Namespace) -> None:
    """py-spy's view of the server while wrk sends lesson views (a flame graph and the raw
    stacks, in --profile DIR)."""
    out = Path(args.profile)
    out.mkdir(parents=True, exist_ok=True)
    seconds = str(round(args.duration))
    spy = [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(pid), "-d", seconds]
    raw = subprocess.Popen([*spy, "-f", "raw", "-o", str(out / "view.txt")])
    wrk(base, lines, duration=args.duration, connections=args.connections)
    raw.wait()


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


# --- one database -------------------------------------------------------------------------


def run_database(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    result: dict[str, object] = {"database": kind, "workers": args.workers}
    with database(kind, args.pg_url, workdir) as url:
        env = {
            "NANOLEARN_DATABASE_URL": url,
            "NANOLEARN_SECRET_KEY": SECRET,
            "NANOLEARN_BASE_URL": "https://nanolearn.kommun.example",
            "NANOLEARN_DATA_DIR": str(workdir / "data"),
            "NANOLEARN_LESSONS_DIR": str(REPO / "lessons"),
            "NANOLEARN_MAIL_FROM": "Nanolearn <kurs@kommun.example>",
            "NANOLEARN_SMTP_URL": "smtp://127.0.0.1:1",
        }
        started = time.perf_counter()
        links, campaign_id, key = prepare(env, max(args.links, args.storm_emails))
        result["setup_s"] = round(time.perf_counter() - started, 1)
        people = links[: args.links]
        fast = {**env, "NANOLEARN_PUBLIC_RATE_PER_TOKEN": "1000000"}
        workers = args.workers if kind == "postgres" else 1
        with server("app", fast, workers) as (base, pids):
            sizes = page_sizes(base, links)
            result["page_bytes"] = sizes
            if args.profile:
                profile(pids[0], base, request_lines(people, "view"), args)
            for page in ("view", "click", "confirm"):
                lines = request_lines(people, page)
                best = max(
                    (
                        wrk(base, lines, duration=args.duration, connections=args.connections)
                        for _ in range(args.repeat)
                    ),
                    key=lambda r: r["rate"],
                )
                result[f"app_{page}"] = best
            for page in ("view", "click", "confirm"):
                lines = request_lines(people, page)
                result[f"paced_{page}"] = wrk(
                    base,
                    lines,
                    duration=args.duration,
                    connections=args.paced_connections,
                    delay_ms=round(args.paced_connections * 1000 / args.rate),
                )
            result["peak_rss_mb_after_load"] = high_water_mb(pids)
        bare_env = {"BENCH_SIZES": json.dumps(sizes)}
        with server("bare", bare_env) as (base, _):
            for page in ("view", "click", "confirm"):
                lines = request_lines(people, page)
                result[f"bare_{page}"] = max(
                    (
                        wrk(base, lines, duration=args.duration, connections=args.connections)
                        for _ in range(args.repeat)
                    ),
                    key=lambda r: r["rate"],
                )
        for page in ("view", "click", "confirm"):
            app_rate = result[f"app_{page}"]["rate"]  # type: ignore[index]
            bare_rate = result[f"bare_{page}"]["rate"]  # type: ignore[index]
            result[f"ratio_{page}"] = round(app_rate / bare_rate, 2)
        if args.storm_emails:
            with server("app", env, workers) as (base, pids):
                before_events = stored_events(url)
                before = reports(base, campaign_id, key)
                lines = storm_lines(links[: args.storm_emails])
                storm = wrk(
                    base,
                    lines,
                    duration=args.storm_seconds,
                    connections=args.connections,
                    limit=len(lines),
                )
                after = reports(base, campaign_id, key)
                after_events = stored_events(url)
                result["storm_peak_rss_mb"] = high_water_mb(pids)
            new = {k: after_events.get(k, 0) - before_events.get(k, 0) for k in after_events}
            views_and_clicks = sum(1 for line in lines if not line.split("\t")[1].startswith("/u/"))
            result["storm"] = {
                **storm,
                "requests": len(lines),
                "stored_events": {k: v for k, v in new.items() if v},
                # Of the whole list; when not all were answered in time, about 5/6 of those
                # answered are views and clicks (the rest are opt-out pages, which store none).
                "expected_events": views_and_clicks,
                "human_events": sum(v for k, v in new.items() if k.startswith("human")),
                "reports_unchanged": before == after,
            }
    return result


def describe(r: dict[str, object]) -> str:
    out = [f"{r['database']} (workers: {r['workers']}), page bytes {r['page_bytes']}"]
    for page in ("view", "click", "confirm"):
        a, b, p = r[f"app_{page}"], r[f"bare_{page}"], r[f"paced_{page}"]
        assert isinstance(a, dict) and isinstance(b, dict) and isinstance(p, dict)
        out.append(
            f"  {page:8} app {a['rate']:>6}/s (p50 {a['p50_ms']} p99 {a['p99_ms']} ms)  "
            f"bare {b['rate']:>6}/s  ratio {r[f'ratio_{page}']}  |  paced {p['rate']}/s: "
            f"p50 {p['p50_ms']} p99 {p['p99_ms']} max {p['max_ms']} ms, 5xx {p['status_5xx']}"
        )
    out.append(f"  peak RSS of the server after the load: {r['peak_rss_mb_after_load']} MB")
    if "storm" in r:
        s = r["storm"]
        assert isinstance(s, dict)
        out.append(
            f"  storm: {s['requests']} requests in {s['elapsed_s']} s ({s['rate']}/s), "
            f"2xx {s['status_2xx']}, 429 {s['status_429']}, 5xx {s['status_5xx']}, "
            f"p99 {s['p99_ms']} ms; events stored {sum(s['stored_events'].values())} of "
            f"{s['expected_events']} (human {s['human_events']}); reports unchanged: "
            f"{s['reports_unchanged']}; peak RSS {r['storm_peak_rss_mb']} MB"
        )
        out.append(f"    by class: {s['stored_events']}")
    return "\n".join(out)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve_main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    parser.add_argument("--links", type=int, default=3000, help="e-mails whose links rotate")
    parser.add_argument("--storm-emails", type=int, default=20000, help="0: no storm")
    parser.add_argument("--storm-seconds", type=int, default=60, help="the storm's time")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=int, default=1000, help="the paced runs' target")
    parser.add_argument("--paced-connections", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure, the best kept")
    parser.add_argument(
        "--workers", type=int, default=1, choices=[1], help="server processes (only 1 so far)"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", help="a directory for py-spy's stacks (pip install py-spy)")
    args = parser.parse_args()
    if subprocess.run(["which", "wrk"], capture_output=True).returncode != 0:
        raise SystemExit(INSTALL_HINT)
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp:
            result = run_database(kind, args, Path(tmp))
        print(json.dumps(result) if args.json else describe(result), flush=True)


if __name__ == "__main__":
    main()
