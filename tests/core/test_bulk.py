"""app/core/bulk.py on the suite's database: rows stored as given (order, None, enum values,
aware datetimes), counts added on conflict, and on PostgreSQL one statement for any number of
rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    event,
    select,
)

from app.core.bulk import add_to_rows, insert_rows
from app.core.db import UTCDateTime


class Colour(StrEnum):
    red = "röd"


METADATA = MetaData()
ROWS = Table(
    "bulk_rows_test",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("window", BigInteger),  # a reserved word on PostgreSQL: must be quoted
    Column("name", String(40)),
    Column("at", UTCDateTime()),
)
COUNTS = Table(
    "bulk_counts_test",
    METADATA,
    Column("window", BigInteger, primary_key=True),
    Column("key", String(40), primary_key=True),
    Column("count", Integer, nullable=False),
)


@pytest.fixture
def tables(engine: Engine) -> Iterator[Engine]:
    METADATA.create_all(engine)
    yield engine
    METADATA.drop_all(engine)


def _statements(engine: Engine) -> list[tuple[str, bool]]:
    seen: list[tuple[str, bool]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append((statement, executemany))

    return seen


def test_rows_are_stored_in_order_with_their_values(tables: Engine) -> None:
    stockholm = timezone(timedelta(hours=1))
    at = datetime(2026, 11, 28, 10, 0, tzinfo=stockholm)
    rows = [
        {"id": 3, "window": 7, "name": Colour.red, "at": at},
        {"id": 1, "window": 8, "name": None, "at": at + timedelta(seconds=1)},
        {"id": 2, "window": 9, "name": "'); DROP TABLE x; --\\\"\n", "at": None},
    ]
    seen = _statements(tables)
    with tables.begin() as connection:
        insert_rows(connection, ROWS, rows)
        insert_rows(connection, ROWS, [])  # nothing to do: no statement
    if tables.dialect.name == "postgresql":
        assert len(seen) == 1 and not seen[0][1]  # one statement, not one per row
    with tables.connect() as connection:
        stored = connection.execute(select(ROWS).order_by(ROWS.c.window)).all()
    assert [tuple(r) for r in stored] == [
        (3, 7, "röd", at.astimezone(UTC)),
        (1, 8, None, (at + timedelta(seconds=1)).astimezone(UTC)),
        (2, 9, "'); DROP TABLE x; --\\\"\n", None),
    ]


def test_counts_are_added_to_existing_rows(tables: Engine) -> None:
    with tables.begin() as connection:
        add_to_rows(connection, COUNTS, [{"window": 1, "key": "a", "count": 2}], adding="count")
    seen = _statements(tables)
    with tables.begin() as connection:
        add_to_rows(
            connection,
            COUNTS,
            [{"window": 1, "key": k, "count": 1} for k in ["a", "b", "c"]],
            adding="count",
        )
    if tables.dialect.name == "postgresql":
        assert len(seen) == 1
    with tables.connect() as connection:
        stored = connection.execute(select(COUNTS).order_by(COUNTS.c.key)).all()
    assert [tuple(r) for r in stored] == [(1, "a", 3), (1, "b", 1), (1, "c", 1)]
