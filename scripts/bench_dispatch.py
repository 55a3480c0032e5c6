#!/usr/bin/env python3
"""Benchmark end-to-end dispatch (claim, render, send, record) against a bare aiosmtplib loop.

    .venv/bin/python scripts/bench_dispatch.py --employees 20000 --database both

For each database it makes a fresh database, N employees and a running campaign with the real
services, plans the slot, then times the real Dispatcher sending every e-mail into Postfix's
`smtp-sink` (or, when that is missing, an aiosmtpd sink in its own process). In the same run it
times a bare aiosmtplib loop sending pre-rendered messages over as many connections: the
practical ceiling for a Python sender. It prints both rates, their ratio and the peak memory
(resource.getrusage ru_maxrss of the process that did the work: each database runs in a child
process of its own; for the whole run and for the dispatch alone, and of each render helper).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SLOT = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # Monday 09:00 in Stockholm
SECRET = "bench-secret-" + "0123456789abcdef" * 3
INSTALL_HINT = (
    "Postfix's smtp-sink is not installed; using an aiosmtpd sink (slower, so the ratio is "
    "flattered less than it would be). Install it with:\n"
    "  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y postfix"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the SMTP sink did not start on port {port}")


@contextmanager
def smtp_sink(kind: str) -> Iterator[tuple[int, str]]:
    """A sink in its own process, so it does not share the sender's CPU time slice."""
    port = free_port()
    binary = shutil.which("smtp-sink") or (
        "/usr/sbin/smtp-sink" if Path("/usr/sbin/smtp-sink").exists() else None
    )
    if kind == "smtp-sink" and binary is None:
        raise SystemExit(INSTALL_HINT)
    if kind != "aiosmtpd" and binary is not None:
        user = ["-u", "nobody"] if os.geteuid() == 0 else []  # it refuses to run as root
        cmd = [binary, *user, f"127.0.0.1:{port}", "1000"]
        name = "smtp-sink (Postfix)"
    else:
        if kind == "auto":
            print(INSTALL_HINT, file=sys.stderr)
        cmd = [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"]
        cmd += ["-l", f"127.0.0.1:{port}"]
        name = "aiosmtpd Sink"
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield port, name
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def database(kind: str, pg_url: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.sqlite'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(pg_url)
    name = f"nl_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def cpu_seconds() -> tuple[float, float]:
    """CPU time of this process, and of its finished children (helper processes)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def start_campaign(session: object, settings: object, employees: int, now: datetime) -> object:
    """The lessons synced, `employees` people imported and a weekly campaign started, through
    the real services (not committed); returns the campaign."""
    from app.campaigns.schemas import CampaignCreate
    from app.campaigns.service import create_campaign, transition
    from app.employees.importer import EmployeeRow
    from app.employees.staff_import import import_employees
    from app.lessons.service import sync_from_settings

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
    sync_from_settings(session, settings, now)  # type: ignore[arg-type]
    import_employees(session, rows, mode="upsert", dry_run=False, now=now)  # type: ignore[arg-type]
    campaign = create_campaign(session, body, now)  # type: ignore[arg-type]
    transition(session, campaign, "start", now)  # type: ignore[arg-type]
    return campaign


def setup(runtime: object, employees: int) -> dict[str, float]:
    """Employees, a running campaign and its planned slot, through the real services."""
    from app.core.clock import FakeClock
    from app.core.migrate import upgrade
    from app.core.runtime import Runtime
    from app.delivery.jobs import plan_once

    assert isinstance(runtime, Runtime) and isinstance(runtime.clock, FakeClock)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    upgrade(runtime.engine)
    now = runtime.clock.now()
    with runtime.session_factory() as session:
        start_campaign(session, runtime.settings, employees, now)
        session.commit()
    timings["setup_s"] = time.perf_counter() - started
    runtime.clock.set(SLOT + timedelta(minutes=1))
    started = time.perf_counter()
    report = plan_once(runtime)
    timings["plan_s"] = time.perf_counter() - started
    assert report is not None and report.planned == employees, report
    return timings


def peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def reset_high_water() -> bool:
    """Start VmHWM afresh (Linux 4.0+), so the dispatch's own peak can be read afterwards."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def high_water_mb() -> int:
    """VmHWM of this process image. A spawned helper's ru_maxrss would not do: Linux carries
    the parent's peak over the exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return 0


async def end_to_end(runtime: object, profile: Path | None) -> dict[str, float]:
    from app.core.runtime import Runtime
    from app.delivery.dispatcher import Dispatcher
    from app.delivery.transport import make_transport

    assert isinstance(runtime, Runtime)
    pool = make_transport(runtime.settings)
    dispatcher = Dispatcher(runtime, pool, "bench")
    await dispatcher.start()  # helper processes, if any, are started before the clock runs
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    report = await dispatcher.drain()
    elapsed = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    helper_rss = 0
    if dispatcher.renderer.executor is not None:  # ask the helpers themselves
        executor, n = dispatcher.renderer.executor, dispatcher.renderer.processes
        helper_rss = max(f.result() for f in [executor.submit(high_water_mb) for _ in range(4 * n)])
    dispatcher.close()  # helpers exit here, so their CPU time is counted below
    await pool.close()
    cpu_after = cpu_seconds()
    return {
        "elapsed": elapsed,
        "sent": report.sent,
        "cpu": sum(cpu_after) - sum(cpu_before),
        "worker_cpu": cpu_after[0] - cpu_before[0],
        "helper_rss": helper_rss,
    }


async def bare_loop(runtime: object, messages: int, connections: int) -> tuple[float, float]:
    """The ceiling: pre-rendered messages, reused connections, no database at all."""
    import aiosmtplib
    from sqlalchemy import select

    from app.core.runtime import Runtime
    from app.delivery.compose import compose_batch
    from app.outbox.models import Delivery

    assert isinstance(runtime, Runtime)
    with runtime.session_factory() as session:
        ids = list(session.scalars(select(Delivery.id).order_by(Delivery.id).limit(500)))
        samples = compose_batch(session, runtime.settings, ids, runtime.clock.now())
    target = runtime.settings.smtp
    left = iter(range(messages))

    async def lane() -> None:
        client = aiosmtplib.SMTP(hostname=target.host, port=target.port, start_tls=False)
        await client.connect()
        for i in left:
            item = samples[i % len(samples)]
            await client.sendmail("kurs@kommun.example", [item.recipient], item.data)
        await client.quit()

    cpu_before = cpu_seconds()[0]
    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(connections)))
    return time.perf_counter() - started, cpu_seconds()[0] - cpu_before


def run_one(args: argparse.Namespace) -> dict[str, object]:
    """One database, in this (child) process."""
    from app.core.clock import FakeClock
    from app.core.config import Settings
    from app.core.runtime import Runtime

    with tempfile.TemporaryDirectory() as tmp, smtp_sink(args.sink) as (port, sink_name):
        workdir = Path(tmp)
        with database(args.database, args.pg_url, workdir) as url:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                data_dir=workdir / "data",
                database_url=url,
                smtp_url=f"smtp://127.0.0.1:{port}",
                base_url="https://nanolearn.kommun.example",
                secret_key=SECRET,  # type: ignore[arg-type]
                mail_from="Nanolearn <kurs@kommun.example>",
                lessons_dir=REPO / "lessons",
                smtp_concurrency=args.concurrency,
                dispatch_batch_size=args.batch_size,
                dispatch_flush_size=args.flush_size,
                render_processes=args.render_processes,
            )
            runtime = Runtime.create(settings, clock=FakeClock(SLOT - timedelta(hours=3)))
            timings = setup(runtime, args.employees)
            setup_rss = peak_rss_mb()
            fresh = reset_high_water()
            e2e = asyncio.run(end_to_end(runtime, args.profile))
            dispatch_hwm = high_water_mb() if fresh else 0
            elapsed, sent, cpu = e2e["elapsed"], int(e2e["sent"]), e2e["cpu"]
            assert sent == args.employees, f"sent {sent} of {args.employees}"
            bare, bare_cpu = asyncio.run(bare_loop(runtime, args.employees, args.concurrency))
            runtime.engine.dispose()
    e2e_rate, bare_rate = sent / elapsed, args.employees / bare
    return {
        "database": args.database,
        "employees": args.employees,
        "sink": sink_name,
        "connections": args.concurrency,
        "batch_size": args.batch_size,
        "flush_size": args.flush_size,
        "render_processes": args.render_processes,
        "end_to_end_per_s": round(e2e_rate),
        "bare_per_s": round(bare_rate),
        "ratio": round(e2e_rate / bare_rate, 2),
        "dispatch_s": round(elapsed, 1),
        # CPU per e-mail (helpers included): what the rate would be on an idle, dedicated core.
        "cpu_ms_per_email": round(cpu / sent * 1000, 3),
        "worker_cpu_ms_per_email": round(e2e["worker_cpu"] / sent * 1000, 3),
        "bare_cpu_ms_per_email": round(bare_cpu / args.employees * 1000, 3),
        "peak_rss_after_setup_mb": setup_rss,  # import and planning: before any sending
        # Reset after the setup (which also resets ru_maxrss): the dispatch on its own.
        "dispatch_high_water_mb": dispatch_hwm,
        "peak_rss_mb": max(setup_rss, peak_rss_mb()),  # the whole run, bare loop included
        "helper_peak_rss_mb": e2e["helper_rss"],
        **{k: round(v, 1) for k, v in timings.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=20000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("NANOLEARN_BENCH_PG_URL", PG_DEFAULT))
    parser.add_argument("--sink", choices=["auto", "smtp-sink", "aiosmtpd"], default="auto")
    parser.add_argument("--concurrency", type=int, default=8, help="SMTP connections")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--flush-size", type=int, default=32)
    parser.add_argument(
        "--render-processes", type=int, default=0, help="render in helper processes (0: inline)"
    )
    parser.add_argument("--profile", type=Path, help="write a cProfile of the dispatch here")
    parser.add_argument("--json", action="store_true", help="print JSON lines only")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args)))
        return
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    for kind in kinds:
        cmd = [sys.executable, __file__, "--child", "--database", kind]
        names = ("employees", "pg_url", "sink", "concurrency", "batch_size", "flush_size")
        for name in (*names, "render_processes"):
            cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
        if args.profile:
            cmd += ["--profile", str(args.profile.with_suffix(f".{kind}.prof"))]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        sys.stderr.write(out.stderr)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(result) if args.json else describe(result), flush=True)


def describe(r: dict[str, object]) -> str:
    return (
        f"{r['database']:>8}: {r['employees']} e-mails, {r['connections']} connections "
        f"into {r['sink']}, render processes {r['render_processes']}\n"
        f"          end to end {r['end_to_end_per_s']}/s ({r['dispatch_s']} s), "
        f"bare aiosmtplib {r['bare_per_s']}/s, ratio {r['ratio']}\n"
        f"          CPU per e-mail {r['cpu_ms_per_email']} ms, of which the worker process "
        f"{r['worker_cpu_ms_per_email']} ms (bare {r['bare_cpu_ms_per_email']} ms)\n"
        f"          peak RSS {r['peak_rss_mb']} MB for the whole run (ru_maxrss; "
        f"{r['peak_rss_after_setup_mb']} MB by the end of import and planning), "
        f"{r['dispatch_high_water_mb']} MB during the dispatch (VmHWM); "
        f"each render helper {r['helper_peak_rss_mb']} MB (VmHWM)\n"
        f"          "
        f"setup {r['setup_s']} s, planning {r['plan_s']} s"
    )


if __name__ == "__main__":
    main()
