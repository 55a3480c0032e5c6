"""One runner at a time across workers for jobs that talk to the outside world.

On PostgreSQL a session advisory lock, held on its own connection for the whole run; SQLite
runs one process (`serve`), so there is nothing to hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

MONTHLY_LOCK_KEY = 0x6E6C_6D72  # "nlmr"
XAPI_LOCK_KEY = 0x6E6C_7861  # "nlxa"


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
