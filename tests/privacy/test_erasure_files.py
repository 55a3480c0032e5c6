"""Erasure reaches the disk: after DELETE /employees/{id}?erase=true no byte of the person's
address, name or number is left in the database files. SQLite: the main file and its -wal.
PostgreSQL: the files of every table, index and TOAST table of ours, under the data directory
(the test must run on the database's machine, as a user who can read them)."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.core.clock import FakeClock
from app.core.db import make_engine
from app.core.runtime import Runtime
from tests.privacy.scenario import ADDRESS, IDENTITY, employee_id, import_staff, make_footprint
from tests.smtp_server import SmtpSink

# Our relations: tables, their indexes and their TOAST tables (with their indexes).
RELATIONS = text(
    """
    SELECT pg_relation_filepath(c.oid) FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'i')
    UNION
    SELECT pg_relation_filepath(t.oid) FROM pg_class c
    JOIN pg_class t ON t.oid = c.reltoastrelid OR t.oid IN (
        SELECT indexrelid FROM pg_index WHERE indrelid = c.reltoastrelid)
    WHERE c.relnamespace = current_schema()::regnamespace
    """
)


def database_files(engine: Engine) -> list[Path]:
    if engine.dialect.name == "sqlite":
        main = Path(str(engine.url.database))
        return [p for p in (main, main.with_name(main.name + "-wal")) if p.exists()]
    with engine.connect() as connection:
        connection.execute(text("CHECKPOINT"))  # what is in shared buffers goes to the files
        data = Path(connection.execute(text("SHOW data_directory")).scalar_one())
        relations = [data / p for p in connection.execute(RELATIONS).scalars() if p]
    if not os.access(data, os.R_OK | os.X_OK):
        pytest.skip(f"cannot read PostgreSQL's data directory {data}: run on its machine as root")
    # Every segment (.1, .2 …) and fork (_fsm, _vm) of each relation.
    return [f for r in relations for f in r.parent.glob(r.name + "*") if f.is_file()]


def on_disk(engine: Engine) -> dict[str, list[str]]:
    """needle -> the files that hold it, ignoring case."""
    found: dict[str, list[str]] = {}
    files = {f: f.read_bytes().lower() for f in database_files(engine)}
    for needle in IDENTITY:
        word = needle.lower().encode()
        holding = [f.name for f, data in files.items() if word in data]
        if holding:
            found[needle] = holding
    return found


def test_erasure_leaves_no_trace_in_the_database_files(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    admin_headers: dict[str, str],
    engine: Engine,
) -> None:
    footprint = make_footprint(runtime, client, clock, smtp_sink, admin_headers)
    before = on_disk(engine)
    assert set(before) == set(IDENTITY), "the search reads the files that hold the data"

    response = client.delete(
        f"/api/v1/employees/{footprint.employee_id}",
        params={"erase": "true"},
        headers=admin_headers,
    )

    assert response.status_code == 200, response.text
    assert on_disk(engine) == {}
    if engine.dialect.name == "sqlite":
        wal = Path(str(engine.url.database) + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0, "the log was emptied"


def test_sqlite_zeroes_what_is_deleted(tmp_path: Path) -> None:
    """secure_delete on every connection of make_engine: a deleted row's bytes are overwritten,
    not left in the page's free space (where the main file would keep them)."""
    path = tmp_path / "probe.sqlite"

    def connect_as_a_default_build() -> sqlite3.Connection:
        # Debian builds SQLite with secure_delete on by default; most other builds do not.
        connection = sqlite3.connect(path, check_same_thread=False)
        connection.execute("PRAGMA secure_delete=OFF")
        return connection

    engine = make_engine(f"sqlite:///{path}", creator=connect_as_a_default_build)
    address = IDENTITY[0].encode()
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT)"))
            for i in range(40):
                email = IDENTITY[0] if i == 20 else f"someone{i}@kommun.example"
                connection.execute(text("INSERT INTO people (email) VALUES (:e)"), {"e": email})
        checkpoint(engine)
        assert address in path.read_bytes()
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM people WHERE id = 21"))
        checkpoint(engine)
        assert address not in path.read_bytes()
        with engine.connect() as connection:  # and on every connection of the pool
            assert connection.exec_driver_sql("PRAGMA secure_delete").scalar_one() == 1
    finally:
        engine.dispose()


def checkpoint(engine: Engine) -> None:
    with engine.connect() as connection:
        busy, _log, _copied = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    assert busy == 0


def test_a_held_lock_makes_the_rewrite_give_up_not_the_erasure(
    client: TestClient,
    admin_headers: dict[str, str],
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("VACUUM FULL is PostgreSQL's")
    import_staff(client, admin_headers)
    person = employee_id(client, admin_headers, ADDRESS)
    with engine.connect() as reader:  # a long report, say, still reading the staff list
        reader.execute(text("LOCK TABLE employees IN ACCESS SHARE MODE"))
        started = time.monotonic()
        response = client.delete(
            f"/api/v1/employees/{person}", params={"erase": "true"}, headers=admin_headers
        )
        waited = time.monotonic() - started
        reader.rollback()
    assert response.status_code == 200, response.text
    assert response.json()["action"] == "erased"
    assert waited < 15, "it waited for the lock_timeout, not for the reader"
    assert "VACUUM (FULL, ANALYZE) employees after an erasure failed" in caplog.text
    assert ADDRESS not in caplog.text
