"""PostgreSQL advisory locks: one runner at a time across workers. Every key lives here, so no
two jobs can pick the same one by accident.

SQLite serialises writers and runs one process (`serve`), so there is nothing to hold there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

PLANNER_LOCK_KEY = 0x6E6C_706C  # "nlpl": one planner at a time across all workers
PURGE_LOCK_KEY = 0x6E6C_7072  # "nlpr": serve and every worker schedule the purge; one runs it
MONTHLY_LOCK_KEY = 0x6E6C_6D72  # "nlmr"
XAPI_LOCK_KEY = 0x6E6C_7861  # "nlxa"
BOUNCE_LOCK_KEY = 0x6E6C_626F  # "nlbo": one reader of the bounce mailbox at a time


def try_transaction_lock(session: Session, key: int) -> bool:
    """Take `key` for the rest of the session's transaction; False when another holds it."""
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite serialises writers itself
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}))


@contextmanager
def job_lock(engine: Engine, key: int) -> Iterator[bool]:
    """Yields True when this process holds the lock, False when another one does."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn:
        held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        conn.commit()
        try:
            yield held
        finally:
            if held:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
