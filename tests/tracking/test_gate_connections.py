"""The gate's own PostgreSQL connections (asyncpg) from the app's database URL: the options
asyncpg reads are kept, connect_timeout becomes its timeout, any other option is left out and
named in the log (never a value), and on PostgreSQL the connection is made for real."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from app.tracking.gate_loop import _connect, _dsn

URL = (
    "postgresql+psycopg://anna:hemligt%40ord@db.kommun.example:5433/nanolearn"
    "?sslmode=verify-full&sslrootcert=/etc/nanolearn/ca.pem&connect_timeout=7"
    "&keepalives=1&application_name=nanolearn"
)


def test_the_options_asyncpg_reads_are_kept_and_the_others_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        dsn = make_url(_dsn(make_url(URL)))
    assert dsn.drivername == "postgresql"
    assert (dsn.username, dsn.password) == ("anna", "hemligt@ord")
    assert (dsn.host, dsn.port, dsn.database) == ("db.kommun.example", 5433, "nanolearn")
    assert dict(dsn.query) == {
        "sslmode": "verify-full",
        "sslrootcert": "/etc/nanolearn/ca.pem",
        "application_name": "nanolearn",
    }
    assert "keepalives" in caplog.text
    assert "hemligt" not in caplog.text and "db.kommun.example" not in caplog.text
    connect = _connect(make_url(URL))
    assert connect.keywords == {"timeout": 7.0}  # type: ignore[attr-defined]


def test_a_connection_is_made_from_the_suite_database_url(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the gate's own connections are PostgreSQL's")
    url = engine.url.update_query_dict(
        {"application_name": "nanolearn-gate", "connect_timeout": "5", "keepalives": "1"}
    )

    async def ask() -> str:
        connection = await _connect(url)()
        try:
            return str(await connection.fetchval("SELECT current_setting('application_name')"))
        finally:
            await connection.close()

    assert asyncio.run(ask()) == "nanolearn-gate"


def test_odd_option_values_fall_back_without_error(caplog: pytest.LogCaptureFixture) -> None:
    odd = make_url("postgresql+psycopg://u@h/db?connect_timeout=tio%C2%B2&%C3%A5tg%C3%A4rd=x%00y")
    with caplog.at_level(logging.WARNING):
        connect = _connect(odd)
    assert connect.keywords == {"timeout": 60.0}  # type: ignore[attr-defined]
    assert dict(make_url(_dsn(odd)).query) == {}
    assert "x\x00y" not in caplog.text  # an option is named, never its value
