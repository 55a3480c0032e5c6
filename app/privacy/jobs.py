"""The nightly purge as a scheduler job: one process at a time, errors logged, never raised."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.core.runtime import Runtime
from app.privacy.retention import PurgeReport, purge_expired

log = logging.getLogger(__name__)

PURGE_LOCK_KEY = 0x6E6C_7072  # "nlpr": serve and every worker schedule the job; one runs it


def purge_once(runtime: Runtime) -> PurgeReport | None:
    """Run the purge in its own transaction; None when another process runs it, or it failed."""
    try:
        with runtime.session_factory() as session:
            if not _purge_lock(session):
                return None
            report = purge_expired(session, runtime.clock.now(), runtime.settings)
            session.commit()
    except Exception:
        log.exception("privacy purge failed; it runs again next night")
        return None
    if not report.nothing:
        log.info(
            "privacy purge: %d campaigns, %d rows deleted, %d people erased",
            len(report.campaigns),
            sum(report.deleted.values()),
            len(report.employees_erased),
        )
    return report


def _purge_lock(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite serialises writers itself
    locked = session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PURGE_LOCK_KEY})
    return bool(locked)
