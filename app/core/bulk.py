"""Many rows in one statement: the gate's inserts, upserts and updates, sized by the group, not
the row.

On PostgreSQL an executemany is one statement per row (psycopg pipelines them, but the server
still plans and runs each one). Here the rows go as one JSON document and one statement reads
them back as records (`json_to_recordset`), so a group of any size costs the server one
statement, always of the same text (psycopg prepares it after a few uses). JSON, not an array
per column: psycopg dumps arrays element by element in Python, which cost more CPU than the
statements it saved; orjson is compiled. Invariants:
- the rows are stored in the order given (an upsert in sorted key order locks in that order);
- values go with no type processing: datetimes must be timezone-aware (sent in ISO 8601 with
  their offset), enum members are stored by value;
- elsewhere (SQLite, one process and no network) it is the plain executemany.

`one_of(column, name)` is the matching condition for reading a group's rows back: on
PostgreSQL `column = ANY(:name)` with the list as one array, so the statement's text is the same
for every group (prepared once); elsewhere the usual `IN (...)`, expanded per list length.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Connection,
    Table,
    TextClause,
    any_,
    bindparam,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal


class OneOf(ColumnElement[bool]):
    """`column` is one of the values of the list parameter `name` (see the module's text)."""

    type = Boolean()
    # A comparison, not a boolean value: without this, a dialect with no boolean type (SQLite)
    # writes `IN (...) = 1`, which no index serves.
    _is_implicitly_boolean = True
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("name", InternalTraversal.dp_string),
    ]

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.column = column
        self.name = name


def one_of(column: Any, name: str) -> OneOf:
    return OneOf(column, name)


@compiles(OneOf)
def _in_list(element: OneOf, compiler: Any, **kw: Any) -> str:
    condition = element.column.in_(bindparam(element.name, expanding=True))
    return str(compiler.process(condition, **kw))


@compiles(OneOf, "postgresql")
def _any_array(element: OneOf, compiler: Any, **kw: Any) -> str:
    array = bindparam(element.name, type_=ARRAY(element.column.type))
    return str(compiler.process(element.column == any_(array), **kw))


def insert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    skip_existing: bool = False,
    returning: tuple[str, ...] = (),
) -> list[tuple[Any, ...]]:
    """Insert `rows` (dicts with the same keys) into `table`. With `skip_existing`, a row that
    would break a unique constraint is left out (ON CONFLICT DO NOTHING). With `returning`,
    those columns of the rows inserted, in no particular order."""
    if not rows:
        return []
    return _execute(
        connection, table, rows, _Shape(skip_existing=skip_existing, returning=returning)
    )


def insert_into_tables(
    connection: Connection, batches: Sequence[tuple[Table, Sequence[dict[str, Any]]]]
) -> None:
    """Insert each (table, rows) of `batches`: on PostgreSQL all in one statement (one round
    trip for a group's link hits and events), elsewhere one executemany per table."""
    batches = [(table, rows) for table, rows in batches if rows]
    if connection.dialect.name != "postgresql" or len(batches) < 2:
        for table, rows in batches:
            insert_rows(connection, table, rows)
        return
    shapes = tuple((table, tuple(rows[0])) for table, rows in batches)
    params = {f"rows{n}": json_rows(rows) for n, (_table, rows) in enumerate(batches)}
    connection.execute(_chained(shapes), params)


def add_to_rows(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], adding: str
) -> None:
    """Insert `rows`, or where a row with the same primary key exists, add the row's `adding`
    column to it (the rows' primary keys must be unique among them)."""
    if rows:
        _execute(connection, table, rows, _Shape(adding=adding))


def update_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Set the columns each row names on the table's row with the same primary key (the rows
    carry the primary key columns, and all the same columns)."""
    if rows:
        _execute(connection, table, rows, _Shape(update=True))


@dataclass(frozen=True)
class _Shape:
    """What kind of statement: an insert (skipping or adding on conflict) or an update."""

    adding: str | None = None
    skip_existing: bool = False
    returning: tuple[str, ...] = ()
    update: bool = False


def _execute(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], shape: _Shape
) -> list[tuple[Any, ...]]:
    columns = tuple(rows[0])
    if connection.dialect.name != "postgresql":
        params = [_key_params(table, row) for row in rows] if shape.update else list(rows)
        result = connection.execute(_plain(table, columns, shape), params)
        return [tuple(row) for row in result] if shape.returning else []
    result = connection.execute(_from_json(table, columns, shape), {"rows": json_rows(rows)})
    return [tuple(row) for row in result] if shape.returning else []


def _key_params(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """An update's parameters for the executemany: the primary key under names of its own
    (a parameter may not share a name with a column the statement sets)."""
    keys = {c.name for c in table.primary_key.columns}
    return {(f"key_{c}" if c in keys else c): v for c, v in row.items()}


def json_rows(rows: Sequence[dict[str, Any]]) -> str:
    """Rows as the JSON document the PostgreSQL statements here read (`json_to_recordset`):
    aware datetimes in ISO 8601 with their offset, enum members by value (orjson: a tenth of
    `json.dumps`'s time with a `default` hook, docs/benchmarks.md). The rows of a document are
    built alike, so the first row's datetimes are checked for a time zone (a naive one would be
    read as the database's local time)."""
    if rows:
        for value in rows[0].values():
            if isinstance(value, datetime) and value.tzinfo is None:
                raise ValueError("naive datetime given to a bulk insert")
    return orjson.dumps(rows).decode()


@functools.cache
def _plain(table: Table, columns: tuple[str, ...], shape: _Shape) -> Any:
    keys = list(table.primary_key.columns)
    if shape.update:
        where = [c == bindparam(f"key_{c.name}") for c in keys]
        values: dict[str, Any] = {
            c: bindparam(c) for c in columns if c not in {k.name for k in keys}
        }
        return update(table).where(*where).values(values)
    statement = sqlite_insert(table)
    if shape.adding is not None:
        adding = shape.adding
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={adding: table.c[adding] + statement.excluded[adding]}
        )
    elif shape.skip_existing:
        statement = statement.on_conflict_do_nothing()
    if shape.returning:
        return statement.returning(*(table.c[c] for c in shape.returning))
    return statement


def upsert_sql(
    table: Table, columns: tuple[str, ...], adding: str, returning: tuple[str, ...]
) -> str:
    """PostgreSQL: `add_to_rows`'s statement with RETURNING, as SQL text to build on (the rows
    are the parameter `:rows`, a `json_rows` document)."""
    return _json_sql(table, columns, _Shape(adding=adding, returning=returning), "rows")


@functools.cache
def _from_json(table: Table, columns: tuple[str, ...], shape: _Shape) -> TextClause:
    return text(_json_sql(table, columns, shape, "rows"))


@functools.cache
def _chained(batches: tuple[tuple[Table, tuple[str, ...]], ...]) -> TextClause:
    """Several tables' inserts as one statement: each but the last in a WITH clause (a
    data-modifying CTE runs whether or not the main statement reads it)."""
    parts = [
        _json_sql(table, columns, _Shape(), f"rows{n}")
        for n, (table, columns) in enumerate(batches)
    ]
    with_clauses = ", ".join(f"inserted{n} AS ({part})" for n, part in enumerate(parts[:-1]))
    return text(f"WITH {with_clauses} {parts[-1]}")


def _json_sql(table: Table, columns: tuple[str, ...], shape: _Shape, param: str) -> str:
    dialect = postgresql.dialect()
    quote = dialect.identifier_preparer.quote
    name = quote(table.name)
    record = ", ".join(f"{quote(c)} {table.c[c].type.compile(dialect=dialect)}" for c in columns)
    source = f"json_to_recordset(CAST(:{param} AS json)) AS r({record})"
    keys = [quote(c.name) for c in table.primary_key.columns]
    if shape.update:
        sets = ", ".join(f"{quote(c)} = r.{quote(c)}" for c in columns if quote(c) not in keys)
        where = " AND ".join(f"{name}.{k} = r.{k}" for k in keys)
        return f"UPDATE {name} SET {sets} FROM {source} WHERE {where}"
    names = ", ".join(quote(c) for c in columns)
    sql = f"INSERT INTO {name} ({names}) SELECT {names} FROM {source}"
    if shape.adding is not None:
        add = quote(shape.adding)
        sql += (
            f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {add} = {name}.{add} + excluded.{add}"
        )
    elif shape.skip_existing:
        sql += " ON CONFLICT DO NOTHING"
    if shape.returning:
        sql += " RETURNING " + ", ".join(quote(c) for c in shape.returning)
    return sql
