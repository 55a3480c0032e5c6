#!/usr/bin/env python3
"""CPU time of the serving process per public request: the figure to watch while optimising.

    .venv/bin/python scripts/bench_public_cpu.py --database sqlite view click confirm

Throughput on a shared machine moves with whatever else runs; the server's own CPU time per
request (utime + stime from /proc over a wrk run) moves much less. Same database fill, server
and request lines as scripts/bench_public.py; 32 connections, a 2 s warm-up, then 5 s measured.
With --profile DIR, py-spy records the thread holding the GIL during the measured run
(`--gil`: CPU, not waiting), as raw stacks in DIR/gil-PAGE.txt (the first serving process).
With --workers N, the CPU of all N serving processes counts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_dispatch import database
from bench_public_load import request_lines, wrk
from bench_public_setup import app_env, prepare, server

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL server process on this machine (0 when there are none):
    the database's side of a request, which shares the machine's cores with the server."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        if "(postgres)" in text or "(postmaster)" in text:
            total += cpu_seconds(int(stat.parent.name))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pages", nargs="*", default=["view", "click", "confirm"])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="serving processes")
    parser.add_argument("--profile", help="a directory for py-spy's raw stacks")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(args.database, args.pg_url, Path(tmp)) as url,
    ):
        env = app_env(url, Path(tmp))
        links, _, _ = prepare(env, args.links)
        fast = {**env, "NANOLEARN_PUBLIC_RATE_PER_TOKEN": "1000000"}
        for page in args.pages:
            lines = request_lines(links, page)
            with server("app", fast, args.workers) as (base, pids):
                wrk(base, lines, duration=2, connections=32)
                spy = None
                if args.profile:
                    Path(args.profile).mkdir(parents=True, exist_ok=True)
                    spy = subprocess.Popen(
                        [str(Path(sys.executable).parent / "py-spy"), "record", "--gil", "-r",
                         "250", "-p", str(pids[0]), "-d", "5", "-f", "raw", "-o",
                         f"{args.profile}/gil-{page}.txt"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                before, started = sum(map(cpu_seconds, pids)), time.monotonic()
                database_before = postgres_cpu_seconds()
                result = wrk(base, lines, duration=5, connections=32)
                cpu, wall = sum(map(cpu_seconds, pids)) - before, time.monotonic() - started
                database_cpu = postgres_cpu_seconds() - database_before
                if spy is not None:
                    spy.wait()
            rate = int(result["rate"])  # type: ignore[call-overload]
            print(
                f"{page:8} {rate:6}/s  server CPU {cpu / wall:4.0%}  "
                f"{cpu / (rate * wall) * 1e6:5.0f} µs per request"
                + (
                    f"  database {database_cpu / (rate * wall) * 1e6:5.0f} µs"
                    if args.database == "postgres"
                    else ""
                )
            )


if __name__ == "__main__":
    main()
