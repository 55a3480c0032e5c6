"""Read the database the way an auditor would: every column of every table, by reflection,
so a table or column added later is searched too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, MetaData


def every_value(engine: Engine) -> list[tuple[str, str, str]]:
    """(table, column, value as text) for every non-null value in the database."""
    metadata = MetaData()
    metadata.reflect(bind=engine)
    values: list[tuple[str, str, str]] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(table.select()):
                for column, value in zip(table.columns.keys(), row, strict=True):
                    if value is not None:
                        values.append((table.name, column, _text(value)))
    return values


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)  # JSON comes back as dicts and lists; str() keeps å, ä and ö as they are


def traces(engine: Engine, needles: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(table, column, needle) wherever a needle occurs, ignoring case."""
    folded = [(needle, needle.casefold()) for needle in needles]
    return [
        (table, column, needle)
        for table, column, text in every_value(engine)
        for needle, fold in folded
        if fold in text.casefold()
    ]
