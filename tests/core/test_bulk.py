"""app/core/bulk.py on the suite's database: rows stored as given (order, None, enum values,
aware datetimes), counts added on conflict, existing rows skipped, inserted rows returned, rows
updated by key, `one_of` lists, and on PostgreSQL one statement (of one text) for any number of
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

from app.core.bulk import add_to_rows, insert_into_tables, insert_rows, one_of, update_rows
from app.core.db import JSONType, UTCDateTime


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
    Column("doc", JSONType()),
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
        stored = connection.execute(
            select(ROWS.c.id, ROWS.c.window, ROWS.c.name, ROWS.c.at).order_by(ROWS.c.window)
        ).all()
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


def test_existing_rows_are_skipped_and_the_inserted_ones_returned(tables: Engine) -> None:
    with tables.begin() as connection:
        insert_rows(connection, ROWS, [{"id": 1, "window": 1, "name": "first"}])
    seen = _statements(tables)
    with tables.begin() as connection:
        returned = insert_rows(
            connection,
            ROWS,
            [{"id": 1, "window": 2, "name": "again"}, {"id": 4, "window": 3, "name": "new"}],
            skip_existing=True,
            returning=("id", "name"),
        )
        assert insert_rows(connection, ROWS, [], returning=("id",)) == []
    assert returned == [(4, "new")]
    if tables.dialect.name == "postgresql":
        assert len(seen) == 1
    with tables.connect() as connection:
        stored = connection.execute(select(ROWS.c.id, ROWS.c.name).order_by(ROWS.c.id)).all()
    assert [tuple(r) for r in stored] == [(1, "first"), (4, "new")]


def test_rows_are_updated_by_their_primary_key(tables: Engine) -> None:
    at = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    with tables.begin() as connection:
        insert_rows(
            connection,
            ROWS,
            [{"id": i, "window": i, "name": f"n{i}", "doc": None, "at": at} for i in (1, 2, 3)],
        )
    seen = _statements(tables)
    changed = [
        {"id": 3, "name": "tre", "doc": {"stability": 2.5, "steps": [1, "två"]}},
        {"id": 1, "name": None, "doc": {"nested": {"ok": True}}},
    ]
    with tables.begin() as connection:
        update_rows(connection, ROWS, changed)
        update_rows(connection, ROWS, [])
    if tables.dialect.name == "postgresql":
        assert len(seen) == 1 and not seen[0][1]
    with tables.connect() as connection:
        stored = connection.execute(
            select(ROWS.c.id, ROWS.c.window, ROWS.c.name, ROWS.c.doc, ROWS.c.at).order_by(ROWS.c.id)
        ).all()
    assert [tuple(r) for r in stored] == [
        (1, 1, None, {"nested": {"ok": True}}, at),
        (2, 2, "n2", None, at),  # not named: untouched
        (3, 3, "tre", {"stability": 2.5, "steps": [1, "två"]}, at),
    ]


def test_one_of_a_list_has_one_text_for_any_length(tables: Engine) -> None:
    with tables.begin() as connection:
        insert_rows(connection, ROWS, [{"id": i, "window": i * 10} for i in range(1, 6)])
    statement = select(ROWS.c.id).where(one_of(ROWS.c.id, "ids")).order_by(ROWS.c.id)
    seen = _statements(tables)
    with tables.connect() as connection:
        assert connection.execute(statement, {"ids": [4, 2, 99]}).scalars().all() == [2, 4]
        assert connection.execute(statement, {"ids": [5]}).scalars().all() == [5]
        assert connection.execute(statement, {"ids": []}).scalars().all() == []
    if tables.dialect.name == "postgresql":
        assert len({text for text, _many in seen}) == 1
    else:  # a comparison the index serves, not `IN (...) = 1` (SQLite has no boolean type)
        sql = statement.params(ids=[2, 4]).compile(
            tables, compile_kwargs={"literal_binds": True, "render_postcompile": True}
        )
        with tables.connect() as connection:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
        assert "SEARCH bulk_rows_test USING INTEGER PRIMARY KEY" in str(plan), plan


def test_several_tables_rows_go_in_one_statement(tables: Engine) -> None:
    seen = _statements(tables)
    with tables.begin() as connection:
        insert_into_tables(
            connection,
            [
                (ROWS, [{"id": 1, "window": 5, "name": "a"}, {"id": 2, "window": 6, "name": "b"}]),
                (COUNTS, [{"window": 5, "key": "k", "count": 1}]),
            ],
        )
        insert_into_tables(connection, [(ROWS, []), (COUNTS, [])])  # nothing: no statement
    if tables.dialect.name == "postgresql":
        assert len(seen) == 1 and not seen[0][1]
    else:
        assert len(seen) == 2
    with tables.begin() as connection:  # one table with rows: the plain insert
        insert_into_tables(
            connection, [(ROWS, []), (COUNTS, [{"window": 6, "key": "k", "count": 2}])]
        )
    with tables.connect() as connection:
        stored = connection.execute(select(ROWS.c.id, ROWS.c.name).order_by(ROWS.c.id)).all()
        assert stored == [(1, "a"), (2, "b")]
        assert sorted(connection.execute(select(COUNTS)).all()) == [(5, "k", 1), (6, "k", 2)]
