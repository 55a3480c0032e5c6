"""Many rows in one statement: the gate's inserts and upserts, sized by the group, not the row.

On PostgreSQL an executemany is one statement per row (psycopg pipelines them, but the server
still plans and runs each one). Here the rows go as one JSON document and one statement reads
them back as records (`json_to_recordset`), so a group of any size costs the server one
statement, always of the same text (psycopg prepares it after a few uses). JSON, not an array
per column: psycopg dumps arrays element by element in Python, which cost more CPU than the
statements it saved; `json.dumps` is C. Invariants:
- the rows are stored in the order given (an upsert in sorted key order locks in that order);
- values go with no type processing: datetimes must be timezone-aware (sent in ISO 8601 with
  their offset), enum members are stored by value;
- elsewhere (SQLite, one process and no network) it is the plain executemany.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, TextClause, insert, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table`."""
    if rows:
        _execute(connection, table, rows, adding=None)


def add_to_rows(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], adding: str
) -> None:
    """Insert `rows`, or where a row with the same primary key exists, add the row's `adding`
    column to it (the rows' primary keys must be unique among them)."""
    if rows:
        _execute(connection, table, rows, adding=adding)


def _execute(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], adding: str | None
) -> None:
    columns = tuple(rows[0])
    if connection.dialect.name != "postgresql":
        connection.execute(_plain(table, adding), list(rows))
        return
    document = json.dumps(rows, default=_json_value, ensure_ascii=False, separators=(",", ":"))
    connection.execute(_from_json(table, columns, adding), {"rows": document})


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a bulk insert")
        return value.isoformat()
    raise TypeError(f"no JSON form for {type(value).__name__}")


@functools.cache
def _plain(table: Table, adding: str | None) -> Any:
    if adding is None:
        return insert(table)
    statement = sqlite_insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(table.primary_key.columns),
        set_={adding: table.c[adding] + statement.excluded[adding]},
    )


@functools.cache
def _from_json(table: Table, columns: tuple[str, ...], adding: str | None) -> TextClause:
    dialect = postgresql.dialect()
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    record = ", ".join(f"{quote(c)} {table.c[c].type.compile(dialect=dialect)}" for c in columns)
    sql = (
        f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} "
        f"FROM json_to_recordset(CAST(:rows AS json)) AS r({record})"
    )
    if adding is not None:
        keys = ", ".join(quote(c.name) for c in table.primary_key.columns)
        add = quote(adding)
        sql += f" ON CONFLICT ({keys}) DO UPDATE SET {add} = {quote(table.name)}.{add} + excluded.{add}"
    return text(sql)
