"""All statements of a window in one order (timestamp, kind, source id), merged from the four
kinds as they stream from the database, and as a streamed JSON array."""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator

from sqlalchemy.orm import Session

from app.xapi.catalog import Catalog
from app.xapi.ids import Identity
from app.xapi.sources import Fact, Window, answers, completions, mastered, views
from app.xapi.statements import Statement, build

CHUNK_SIZE = 64 * 1024


def facts(session: Session, window: Window) -> Iterator[Fact]:
    sources = [f(session, window) for f in (views, answers, mastered, completions)]
    return heapq.merge(*sources, key=lambda fact: fact.order)


def statements(session: Session, window: Window, ident: Identity) -> Iterator[Statement]:
    catalog = Catalog.load(session)
    return (build(fact, ident, catalog) for fact in facts(session, window))


def json_array_chunks(items: Iterable[Statement]) -> Iterator[bytes]:
    buffer = bytearray(b"[")
    separator = b""
    for item in items:
        buffer += separator + json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()
        separator = b","
        if len(buffer) >= CHUNK_SIZE:
            yield bytes(buffer)
            buffer.clear()
    buffer += b"]"
    yield bytes(buffer)
