#!/usr/bin/env python3
"""Benchmark the completion report exports on a large campaign.

    .venv/bin/python scripts/bench_reports.py --employees 100000 --lessons 20 --database both

For each database it builds a fresh database with bulk inserts (COPY on PostgreSQL): one
campaign, N employees in 45 departments (5 of them small), every lesson sent to everyone, human
and scanner clicks, answers, second attempts, review cards and review logs. Then it exports the
completion report per employee (CSV and XLSX), per department and per lesson (XLSX) through
the same code as `nanolearn report completion`, each export in a fresh child process
(`--repeat N`: the fastest of N), and prints the wall time, the CPU time of that process (on
PostgreSQL the queries' own time is the server's, not in it) and its peak memory (ru_maxrss:
resident set size, so it includes the interpreter and the imports; the baseline before the
export is printed too).
`--keep DIR` keeps (and on the next run reuses) the SQLite file in DIR and the PostgreSQL
database nl_bench_reports, which saves the build time (minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
SECRET = "bench-secret-" + "0123456789abcdef" * 3
TARGET_SECONDS, TARGET_MB = 10.0, 200.0
BIG_DEPARTMENTS, SMALL_DEPARTMENTS = 40, 5


@contextmanager
def database(kind: str, pg_url: str, keep: Path | None) -> Iterator[tuple[str, bool]]:
    """Yields (url, needs_data); a PostgreSQL database lives only for the run."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if kind == "sqlite":
        folder = keep or Path(tempfile.mkdtemp(prefix="nl-bench-"))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "bench-reports.sqlite"
        fresh = not path.exists() or keep is None
        yield f"sqlite:///{path}", fresh
        if keep is None:
            path.unlink(missing_ok=True)
        return
    base = make_url(pg_url).set(drivername="postgresql+psycopg")
    name = "nl_bench_reports" if keep else f"nl_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False), not exists
    finally:
        if keep is None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pg_answers(pg_url: str) -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(pg_url, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


# --- building the data ------------------------------------------------------------------------


def bulk(conn: Any, table: Any, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """COPY on PostgreSQL, executemany in chunks on SQLite; rows are plain tuples."""
    count = 0
    if conn.dialect.name == "postgresql":
        raw = conn.connection.dbapi_connection
        cols = ", ".join(columns)
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
    cursor = conn.connection.dbapi_connection.cursor()
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(tuple(_sqlite_value(v) for v in row))
        if len(chunk) >= 20_000:
            cursor.executemany(sql, chunk)
            count += len(chunk)
            chunk.clear()
    cursor.executemany(sql, chunk)
    return count + len(chunk)


def _sqlite_value(value: Any) -> Any:
    # The UTCDateTime column stores naive UTC on SQLite; JSON columns store text.
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value


def _json(value: Any, postgres: bool) -> Any:
    return json.dumps(value) if postgres else value


def build(url: str, employees: int, lessons: int) -> dict[str, int]:
    """Fills a new database; returns row counts per table."""
    from sqlalchemy import text

    import app.models  # noqa: F401
    from app.core.db import Base, make_engine

    engine = make_engine(url)
    Base.metadata.create_all(engine)
    rng = random.Random(7)
    counts: dict[str, int] = {}
    tables = Base.metadata.tables
    with engine.begin() as conn:
        pg = conn.dialect.name == "postgresql"
        conn.execute(
            text(
                "INSERT INTO courses (id, slug, title, description, language, help_text,"
                " content_hash, synced_at) VALUES (1, 'bench', 'Benchkursen', '', 'sv', '', 'c',"
                " :t)"
            ),
            {"t": _sqlite_value(T0) if not pg else T0},
        )
        counts["lessons"] = bulk(
            conn,
            tables["lessons"],
            ("id", "key", "course_id", "position", "content_hash"),
            ((n, f"bench-{n:02d}", 1, n, "h") for n in range(1, lessons + 1)),
        )
        bulk(
            conn,
            tables["lesson_versions"],
            ["id", "lesson_id", "content_hash", "title", "key_point", "body_md", "what_you_do", "question", "options", "correct_index", "explanation", "sources", "created_at"],
            (
                (n, n, "h", f"Lektion {n}", "Nyckel", "Text", "Gör", "Fråga?",
                 _json(["Ja", "Nej", "Kanske"], pg), 0, "För att", _json([], pg), T0)
                for n in range(1, lessons + 1)
            ),
        )  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO campaigns (id, name, course_id, status, status_reason, departments,"
                " start_date, weekdays, send_time, timezone, window_start, window_end,"
                " window_weekdays, desired_retention, max_reviews_per_email, retire_after,"
                " owner_emails, created_at, updated_at, started_at) VALUES (1, 'Bench', 1,"
                " 'running', '', '[]', :d, '[1, 3]', '08:00:00', 'Europe/Stockholm', '07:00:00',"
                " '17:00:00', '[0, 1, 2, 3, 4]', 0.9, 1, 2, '[]', :t, :t, :t)"
            ),
            {"d": date(2026, 1, 5), "t": _sqlite_value(T0) if not pg else T0},
        )
        departments = [f"Förvaltning {n:02d}" for n in range(BIG_DEPARTMENTS)]
        small = [f"Liten enhet {n}" for n in range(SMALL_DEPARTMENTS)]

        def department(i: int) -> str:
            return (
                small[i % SMALL_DEPARTMENTS] if i < 2 * SMALL_DEPARTMENTS else departments[i % 40]
            )

        counts["employees"] = bulk(
            conn,
            tables["employees"],
            ["id", "email", "first_name", "last_name", "department", "employee_number", "active", "created_at", "updated_at"],
            (
                (i, f"person{i}@kommun.example", f"Förnamn{i % 977}", f"Efternamn{i % 1499}",
                 department(i), f"A{i:07d}", True, T0, T0)
                for i in range(1, employees + 1)
            ),
        )  # fmt: skip
        opted = {i for i in range(1, employees + 1) if i % 50 == 0}
        counts["enrollments"] = bulk(
            conn,
            tables["enrollments"],
            ["id", "campaign_id", "employee_id", "status", "enrolled_at", "opted_out_at"],
            (
                (i, 1, i, "opted_out" if i in opted else "active", T0,
                 T0 + timedelta(days=30) if i in opted else None)
                for i in range(1, employees + 1)
            ),
        )  # fmt: skip
        plan = _activity(rng, employees, lessons)
        counts["deliveries"] = bulk(
            conn,
            tables["deliveries"],
            ["id", "campaign_id", "enrollment_id", "slot_at", "due_at", "lesson_id", "lesson_hash", "review_items", "status", "attempts", "sent_at", "created_at"],
            (
                (d, 1, e, s, s, n, "h", _json([], pg), "sent", 1, s, T0)
                for d, e, n, s, *_ in plan.deliveries()
            ),
        )  # fmt: skip
        counts["events"] = bulk(
            conn,
            tables["events"],
            ["kind", "delivery_id", "lesson_id", "occurred_at", "classification", "class_reason"],
            plan.events(),
        )
        counts["answers"] = bulk(
            conn,
            tables["answers"],
            [
                "id",
                "delivery_id",
                "enrollment_id",
                "lesson_id",
                "lesson_hash",
                "is_review",
                "option_index",
                "correct",
                "attempt",
                "answered_at",
            ],
            plan.answers(),
        )
        counts["review_cards"] = bulk(
            conn,
            tables["review_cards"],
            [
                "id",
                "enrollment_id",
                "lesson_id",
                "due",
                "reviews",
                "correct_streak",
                "last_correct",
                "offers_unanswered",
                "retired_at",
                "retired_reason",
                "created_at",
            ],
            plan.cards(),
        )
        counts["review_logs"] = bulk(
            conn,
            tables["review_logs"],
            [
                "card_id",
                "answer_id",
                "delivery_id",
                "review_number",
                "sent_at",
                "answered_at",
                "rating",
                "correct",
                "days_since_exposure",
                "response_delay_seconds",
                "counted",
            ],
            plan.logs(),
        )
        if pg:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return counts


class _activity:
    """Deterministic behaviour per (employee, lesson), derived from one random draw each."""

    def __init__(self, rng: random.Random, employees: int, lessons: int) -> None:
        self.employees, self.lessons = employees, lessons
        # 0: ignored, 1: viewed only, 2: answered right, 3: answered wrong, then right
        self.kind = bytes(
            rng.choices((0, 1, 2, 3), weights=(25, 10, 50, 15), k=employees * lessons)
        )

    def _slot(self, n: int) -> datetime:
        return T0 + timedelta(days=3.5 * (n - 1))

    def deliveries(self) -> Iterator[tuple[int, int, int, datetime]]:
        for e in range(1, self.employees + 1):
            for n in range(1, self.lessons + 1):
                yield (e - 1) * self.lessons + n, e, n, self._slot(n)

    def events(self) -> Iterator[tuple[Any, ...]]:
        for d, _e, n, slot in self.deliveries():
            if d % 3 == 0:  # a mail scanner opened every link
                yield ("view", d, n, slot + timedelta(seconds=4), "automated", "too_fast")
            if self.kind[d - 1] in (1, 2, 3):
                yield ("view", d, n, slot + timedelta(minutes=30), "human", "")

    def answers(self) -> Iterator[tuple[Any, ...]]:
        a = 0
        for d, e, n, slot in self.deliveries():
            kind = self.kind[d - 1]
            if kind >= 2:
                a += 1
                yield (a, d, e, n, "h", False, 0 if kind == 2 else 1, kind == 2, 1,
                       slot + timedelta(minutes=31))  # fmt: skip
            if kind == 3:
                a += 1
                yield (a, d, e, n, "h", False, 0, True, 2, slot + timedelta(minutes=33))

    def cards(self) -> Iterator[tuple[Any, ...]]:
        for d, e, n, slot in self.deliveries():
            if self.kind[d - 1] >= 2:
                mastered = self.kind[d - 1] == 2 and n <= self.lessons // 2
                retired = slot + timedelta(days=20) if mastered else None
                yield (d, e, n, slot + timedelta(days=7), 2 if mastered else 1,
                       2 if mastered else 0, True, 0, retired, "mastered" if mastered else None, slot)  # fmt: skip

    def logs(self) -> Iterator[tuple[Any, ...]]:
        a = 0
        for d, _e, _n, slot in self.deliveries():
            kind = self.kind[d - 1]
            if kind < 2:
                continue
            a += 1 if kind == 2 else 2
            at = slot + timedelta(minutes=31)
            yield (d, a, d, 0, slot, at, 3 if kind == 2 else 1, kind == 2, None, 1860.0, True)
            # One review a week later, for the retention figures.
            review = at + timedelta(days=7)
            right = (d % 10) < 8
            yield (d, a, d, 1, review, review, 3 if right else 1, right, 7.0, 600.0, True)


# --- measuring --------------------------------------------------------------------------------


def child(url: str, by: str, fmt: str, target: str) -> None:
    """Runs in a fresh process: one export, then prints JSON with time and memory."""
    from app.core.clock import FakeClock
    from app.core.config import Settings
    from app.core.runtime import Runtime
    from app.reports.download import ExportRequest
    from app.reports.export import ExportFormat
    from app.reports.files import write_report
    from app.reports.tables import ReportBy

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        secret_key=SECRET,  # type: ignore[arg-type]
        data_dir=Path(tempfile.gettempdir()),
    )
    runtime = Runtime.create(settings, clock=FakeClock(T0 + timedelta(days=90)))

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start, cpu = time.perf_counter(), time.process_time()
    request = ExportRequest(1, ReportBy(by), ExportFormat(fmt))
    rows = write_report(runtime, request, Path(target), actor="bench")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = Path(target).stat().st_size
    print(json.dumps({"seconds": elapsed, "cpu_seconds": cpu, "peak_mb": peak,
                      "baseline_mb": baseline, "rows": rows, "bytes": size}))  # fmt: skip


def measure(url: str, by: str, fmt: str, workdir: Path) -> dict[str, Any]:
    target = workdir / f"report-{by}.{fmt}"
    args = [sys.executable, __file__, "--child", url, by, fmt, str(target)]
    out = subprocess.run(args, check=True, capture_output=True, text=True, cwd=REPO)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    target.unlink(missing_ok=True)
    return result


def run(kind: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    with database(kind, args.pg_url, args.keep) as (url, fresh):
        if fresh:
            start = time.perf_counter()
            counts = build(url, args.employees, args.lessons)
            print(f"[{kind}] built in {time.perf_counter() - start:.1f} s: {counts}", flush=True)
        with tempfile.TemporaryDirectory() as work:
            for by, fmt in [
                ("employee", "csv"),
                ("employee", "xlsx"),
                ("department", "xlsx"),
                ("lesson", "xlsx"),
            ]:
                # The fastest of the repeats: other work on the machine only ever adds time.
                runs = [measure(url, by, fmt, Path(work)) for _ in range(args.repeat)]
                r = min(runs, key=lambda x: x["seconds"])
                r.update(database=kind, by=by, format=fmt)
                ok = r["seconds"] < TARGET_SECONDS and r["peak_mb"] < TARGET_MB
                print(
                    f"[{kind}] by {by:<10} {fmt:<4} {r['rows']:>7} rows  {r['seconds']:6.2f} s "
                    f"(CPU here {r['cpu_seconds']:5.2f} s)  "
                    f"peak {r['peak_mb']:6.1f} MB (baseline {r['baseline_mb']:.1f})  "
                    f"{r['bytes'] / 1e6:6.1f} MB file  {'OK' if ok else 'MISSED'}",
                    flush=True,
                )
                results.append(r)
    return results


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--lessons", type=int, default=20)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("NANOLEARN_BENCH_PG_URL", PG_DEFAULT))
    parser.add_argument("--repeat", type=int, default=1, help="runs per export; the best counts")
    parser.add_argument("--keep", type=Path, help="keep and reuse the databases (SQLite in DIR)")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        if kind == "postgresql" and not pg_answers(args.pg_url):
            print(f"[postgresql] not answering at {args.pg_url}; skipped")
            continue
        run(kind, args)


if __name__ == "__main__":
    main()
