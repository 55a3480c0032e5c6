"""A savepoint taken before a unit of work's first write stays inside its transaction: what
the savepoint wrote is undone when the unit of work rolls back (on SQLite, pysqlite would
otherwise open a transaction with the savepoint and commit it on release: app/core/db.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from app.core.runtime import Runtime
from app.employees.models import Employee


def count(runtime: Runtime) -> int:
    with runtime.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Employee)) or 0)


def person(email: str) -> Employee:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    return Employee(
        email=email, first_name="Test", last_name="Person", created_at=now, updated_at=now
    )


def test_a_savepoint_after_only_reads_is_undone_with_its_transaction(runtime: Runtime) -> None:
    before = count(runtime)
    with runtime.session_factory() as session:
        session.scalar(select(func.count()).select_from(Employee))  # a read, no write yet
        with session.begin_nested():
            session.add(person("savepoint@kommun.example"))
        session.rollback()
    assert count(runtime) == before


def test_a_savepoint_after_only_reads_commits_with_its_transaction(runtime: Runtime) -> None:
    before = count(runtime)
    with runtime.session_factory() as session:
        session.scalar(select(func.count()).select_from(Employee))
        with session.begin_nested():
            session.add(person("kept@kommun.example"))
        session.add(person("after@kommun.example"))
        session.commit()
    assert count(runtime) == before + 2


def test_a_failed_savepoint_undoes_only_itself(runtime: Runtime) -> None:
    before = count(runtime)
    with runtime.session_factory() as session:
        session.scalar(select(func.count()).select_from(Employee))
        try:
            with session.begin_nested():
                session.add(person("undone@kommun.example"))
                session.flush()
                raise RuntimeError("the savepoint's work fails")
        except RuntimeError:
            pass
        session.add(person("stays@kommun.example"))
        session.commit()
    assert count(runtime) == before + 1
