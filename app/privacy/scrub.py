"""After an erasure commits, the erased values must be gone from the database files too.

Changed and deleted rows leave their old bytes behind: in SQLite in freed page space and in the
write-ahead log, in PostgreSQL as dead row versions in the table's and indexes' pages.
- SQLite: every connection sets `secure_delete` (app/core/db.py), so freed space is zeroed;
  after the erasure a TRUNCATE checkpoint copies the log into the main file and empties the log,
  which still held the pages from before.
- PostgreSQL: plain VACUUM frees the dead versions but can leave their bytes in a page's free
  space (it does when the dead version was the last one written to its page), so the tables
  whose rows held a name or an address (`rewrite`) get VACUUM FULL, which writes the table
  and its indexes anew. That locks the table for the rewrite (about 8 s per million rows), so
  the large tables that only held times and counts get plain VACUUM. VACUUM cannot run in a
  transaction: it runs on an autocommit connection of its own, after the commit.
A failure here is logged, never raised: the erasure itself has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_PENDING = "nanolearn.scrub"
_LISTENING = "nanolearn.scrub.listening"
# VACUUM FULL waits for every other transaction on the table; it gives up instead of stalling
# the public pages behind it, and plain VACUUM runs instead.
LOCK_TIMEOUT = "5s"


def scrub_after_commit(session: Session, *, rewrite: Iterable[str], vacuum: Iterable[str]) -> None:
    """Once the session commits, scrub these tables (rewrite: VACUUM FULL on PostgreSQL)."""
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        event.listen(session, "after_commit", _after_commit)
    pending = session.info.setdefault(_PENDING, {"rewrite": set(), "vacuum": set()})
    pending["rewrite"].update(rewrite)
    pending["vacuum"].update(vacuum)


def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    try:
        scrub(engine, rewrite=pending["rewrite"], vacuum=pending["vacuum"] - pending["rewrite"])
    except Exception:
        log.exception("scrubbing the database files after an erasure failed")


def scrub(engine: Engine, *, rewrite: Iterable[str], vacuum: Iterable[str]) -> None:
    if engine.dialect.name == "sqlite":
        _checkpoint(engine)
    elif engine.dialect.name == "postgresql":
        _vacuum(engine, sorted(rewrite), sorted(vacuum))


def _checkpoint(engine: Engine) -> None:
    with engine.connect() as connection:
        busy, _frames, _copied = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:
        log.warning("the SQLite log could not be emptied after an erasure (readers busy)")


def _vacuum(engine: Engine, rewrite: list[str], vacuum: list[str]) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        try:
            for table in rewrite:
                # ANALYZE too: the planner's statistics may quote the old values.
                if not _run(connection, "VACUUM (FULL, ANALYZE)", table):
                    vacuum.append(table)
            for table in vacuum:
                _run(connection, "VACUUM", table)
        finally:
            connection.exec_driver_sql("RESET lock_timeout")  # the connection goes back to the pool


def _run(connection: Connection, command: str, table: str) -> bool:
    quoted = connection.dialect.identifier_preparer.quote(table)
    try:
        connection.exec_driver_sql(f"{command} {quoted}")
    except DBAPIError as error:
        log.error(
            "%s %s after an erasure failed (%s); run it by hand",
            command,
            table,
            type(error.orig).__name__,
        )
        return False
    return True
