#!/usr/bin/env python3
"""Benchmark the public pages (lesson view, answer link, confirm) against a bare FastAPI endpoint.

    sudo apt-get install -y wrk
    .venv/bin/python scripts/bench_public.py --database both

For each database it makes a fresh database with N employees and a running campaign through the
real services, plans one slot with the real planner and marks the e-mails sent, and builds the
links of every e-mail with app/core/links.py (the code the e-mail renderer uses). Then, rotating
over the links of --links e-mails, on the same uvicorn settings as `nanolearn serve` (and as the
bare app):

1. throughput: GET /l/…, GET /a/…/…/n and POST /a/…/… for --duration seconds each, with wrk
   (scripts/bench_public.lua) and --connections connections, against the app and against a
   bare FastAPI app whose three routes return pre-made pages of the same sizes (both servers
   up at once, their runs taking turns, the best of --repeat kept for each);
2. paced: the same three at --rate requests/s, open loop (scripts/bench_public_paced.py: each
   request is due at a fixed time whatever has been answered, its latency runs from then), over
   --paced-connections keep-alive connections, against the app and the bare app (which shows
   that the generator itself keeps the rate);
3. a scanner storm: every link of every e-mail (view, each answer, opt-out page), with scanner
   user agents or a browser's from Microsoft EOP addresses (X-Forwarded-For, which the server
   honours from 127.0.0.1 as FORWARDED_ALLOW_IPS does), at the default rate limits: counts the
   5xx, checks that every answered view and click is stored with an automated class, and that
   the HR reports read the same before and after;
4. the serving process's peak memory (VmHWM of each server process).

Throughput and paced runs send X-Forwarded-For from 1,000 addresses so the per-address limit
(a NAT workplace) does not stop them, and use a per-token limit raised to 1,000,000: the limiter
is still run for every request; the storm runs with the defaults.

The parts: bench_public_setup.py (servers, database), bench_public_load.py (requests, wrk),
bench_public_paced.py (the paced generator).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from bench_dispatch import database  # same folder: a temporary database
from bench_public_load import INSTALL_HINT, profile, request_lines, storm_lines, wrk
from bench_public_paced import paced
from bench_public_setup import (
    app_env,
    high_water_mb,
    page_sizes,
    prepare,
    reports,
    server,
    stored_events,
)

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PAGES = ("view", "click", "confirm")


# --- one database -------------------------------------------------------------------------


def fastest(base: str, lines: list[str], args: argparse.Namespace) -> dict[str, float]:
    """One wrk run as fast as the server answers (the best of --repeat is kept)."""
    return wrk(base, lines, duration=args.duration, connections=args.connections)


def paced_run(base: str, lines: list[str], args: argparse.Namespace) -> dict[str, object]:
    return paced(
        base, lines, rate=args.rate, duration=args.duration, connections=args.paced_connections
    )


def storm(
    url: str,
    env: dict[str, str],
    links: list[dict[str, object]],
    admin: tuple[int, str],
    args: argparse.Namespace,
) -> dict[str, object]:
    """Every link of --storm-emails e-mails as the gateways fetch them, at the default limits;
    `admin` is the campaign and an admin key, for the reports before and after."""
    campaign_id, key = admin
    with server("app", env) as (base, pids):
        before_events = stored_events(url)
        before = reports(base, campaign_id, key)
        lines = storm_lines(links[: args.storm_emails])
        run = wrk(
            base, lines, duration=args.storm_seconds, connections=args.connections, limit=len(lines)
        )
        after = reports(base, campaign_id, key)
        after_events = stored_events(url)
        peak = high_water_mb(pids)
    new = {k: after_events.get(k, 0) - before_events.get(k, 0) for k in after_events}
    return {
        **run,
        "requests": len(lines),
        "stored_events": {k: v for k, v in new.items() if v},
        # Of the whole list; when not all were answered in time, about 5/6 of those answered
        # are views and clicks (the rest are opt-out pages, which store none).
        "expected_events": sum(1 for line in lines if not line.split("\t")[1].startswith("/u/")),
        "human_events": sum(v for k, v in new.items() if k.startswith("human")),
        "reports_unchanged": before == after,
        "peak_rss_mb": peak,
    }


def run_database(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    result: dict[str, object] = {"database": kind, "workers": args.workers}
    with database(kind, args.pg_url, workdir) as url:
        env = app_env(url, workdir)
        started = time.perf_counter()
        links, campaign_id, key = prepare(env, max(args.links, args.storm_emails))
        result["setup_s"] = round(time.perf_counter() - started, 1)
        people = links[: args.links]
        lines = {page: request_lines(people, page) for page in PAGES}
        fast = {**env, "NANOLEARN_PUBLIC_RATE_PER_TOKEN": "1000000"}
        with server("app", fast, args.workers) as (base, pids):
            sizes = page_sizes(base, links)
            result["page_bytes"] = sizes
            if args.profile:
                profile(pids[0], base, lines["view"], args)
            # Both servers up at once, their runs taking turns, so that a machine whose speed
            # drifts (other tenants, a slow minute) moves both sides of a ratio alike; an idle
            # server costs next to nothing meanwhile.
            with server("bare", {"BENCH_SIZES": json.dumps(sizes)}) as (bare, _):
                for page in PAGES:
                    app_runs, bare_runs = [], []
                    for _ in range(args.repeat):
                        app_runs.append(fastest(base, lines[page], args))
                        bare_runs.append(fastest(bare, lines[page], args))
                    result[f"app_{page}"] = max(app_runs, key=lambda r: r["rate"])
                    result[f"bare_{page}"] = max(bare_runs, key=lambda r: r["rate"])
                for page in PAGES:
                    result[f"paced_{page}"] = paced_run(base, lines[page], args)
                    result[f"paced_bare_{page}"] = paced_run(bare, lines[page], args)
            result["peak_rss_mb_after_load"] = high_water_mb(pids)
        for page in PAGES:
            app_rate = result[f"app_{page}"]["rate"]  # type: ignore[index]
            bare_rate = result[f"bare_{page}"]["rate"]  # type: ignore[index]
            result[f"ratio_{page}"] = round(app_rate / bare_rate, 2)
        if args.storm_emails:
            result["storm"] = storm(url, env, links, (campaign_id, key), args)
    return result


def _paced(p: object) -> str:
    assert isinstance(p, dict)
    bad = p["status_4xx"] + p["status_429"] + p["status_5xx"]
    failed = sum(p["errors"].values()) + p["unanswered"]
    return (
        f"{p['rate']}/s: p50 {p['p50_ms']} p90 {p['p90_ms']} p99 {p['p99_ms']} max {p['max_ms']} "
        f"ms, non-2xx {bad} (5xx {p['status_5xx']}), errors {failed}, backlog max "
        f"{p['backlog_max']}; generator CPU {p['generator_cpu_pct']} %, its lag p99 "
        f"{p['schedule_lag_p99_ms']} ms"
    )


def describe(r: dict[str, object]) -> str:
    out = [f"{r['database']} (workers: {r['workers']}), page bytes {r['page_bytes']}"]
    for page in PAGES:
        a, b = r[f"app_{page}"], r[f"bare_{page}"]
        assert isinstance(a, dict) and isinstance(b, dict)
        out.append(
            f"  {page:8} app {a['rate']:>6}/s (p50 {a['p50_ms']} p99 {a['p99_ms']} ms)  "
            f"bare {b['rate']:>6}/s  ratio {r[f'ratio_{page}']}"
        )
        out.append(f"           paced, app:  {_paced(r[f'paced_{page}'])}")
        out.append(f"           paced, bare: {_paced(r[f'paced_bare_{page}'])}")
    out.append(f"  peak RSS of the server after the load: {r['peak_rss_mb_after_load']} MB")
    if "storm" in r:
        s = r["storm"]
        assert isinstance(s, dict)
        took = s.get("status_took", -1)
        assert isinstance(took, int)
        # The time the whole list took (wrk's own run lasts --storm-seconds whatever happens,
        # and its rate counts the health checks a thread sends once its list is done).
        spent = (
            f"all answered in {took} s ({s['requests'] // max(took, 1)}/s)"
            if took >= 0
            else f"not all answered within {s['elapsed_s']} s"
        )
        out.append(
            f"  storm: {s['requests']} requests, {spent}, "
            f"2xx {s['status_2xx']}, 429 {s['status_429']}, 5xx {s['status_5xx']}, "
            f"p99 {s['p99_ms']} ms; events stored {sum(s['stored_events'].values())} of "
            f"{s['expected_events']} (human {s['human_events']}); reports unchanged: "
            f"{s['reports_unchanged']}; peak RSS {s['peak_rss_mb']} MB"
        )
        out.append(f"    by class: {s['stored_events']}")
    return "\n".join(out)


def main() -> None:
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
        "--workers", type=int, default=1, help="serving processes, as serve --workers N"
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
