"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when
NANOLEARN_TEST_DATABASE_URL is set), a fake clock, API keys and a real SMTP server."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import app.models  # noqa: F401
from app.auth.models import Role
from app.auth.service import create_api_key
from app.core.clock import FakeClock
from app.core.config import Settings
from app.core.db import Base, make_engine, make_session_factory
from app.core.migrate import upgrade
from app.core.runtime import Runtime
from app.main import create_app
from tests.smtp_server import SmtpSink

REPO = Path(__file__).resolve().parents[1]
TEST_SECRET = "test-secret-" + "0123456789abcdef" * 3
# A Monday early morning in Stockholm (UTC+1 in January).
START = datetime(2026, 1, 5, 5, 0, tzinfo=UTC)


def _pg_url() -> str | None:
    return os.environ.get("NANOLEARN_TEST_DATABASE_URL") or None


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for the session: a SQLite file to copy, or a PostgreSQL database."""
    pg = _pg_url()
    if pg is None:
        path = tmp_path_factory.mktemp("db") / "template.sqlite"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        yield f"sqlite:///{path}"
        return
    base = make_url(pg).set(drivername="postgresql+psycopg")
    name = f"nl_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> str:
    if database_template.startswith("sqlite"):
        target = tmp_path / "test.sqlite"
        shutil.copyfile(database_template.removeprefix("sqlite:///"), target)
        return f"sqlite:///{target}"
    return database_template


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    if engine.dialect.name == "postgresql":
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_sink: SmtpSink) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        database_url=database_url,
        smtp_url=smtp_sink.url,
        base_url="http://testserver",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        mail_from="Nanolearn <kurs@kommun.example>",
        lessons_dir=REPO / "lessons",
    )


@pytest.fixture
def runtime(settings: Settings, engine: Engine, clock: FakeClock) -> Runtime:
    return Runtime(settings, engine, make_session_factory(engine), clock)


@pytest.fixture
def session(runtime: Runtime) -> Iterator[Session]:
    with runtime.session_factory() as session:
        yield session


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as client:
        yield client


def _key_headers(runtime: Runtime, role: Role) -> dict[str, str]:
    with runtime.session_factory() as session:
        _, plain = create_api_key(session, f"test {role}", role, runtime.clock.now())
        session.commit()
    return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def admin_headers(runtime: Runtime) -> dict[str, str]:
    return _key_headers(runtime, Role.admin)


@pytest.fixture
def editor_headers(runtime: Runtime) -> dict[str, str]:
    return _key_headers(runtime, Role.editor)


@pytest.fixture
def reporter_headers(runtime: Runtime) -> dict[str, str]:
    return _key_headers(runtime, Role.reporter)
