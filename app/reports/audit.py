"""Every export is in the audit log: recorded when it starts (rows unknown), completed when the
last row is out. An entry whose `rows` stays empty is a download that was started and broken off."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.auth.audit import record_audit
from app.auth.models import ApiKey, AuditEntry


def start_export_audit(
    session: Session,
    *,
    actor: ApiKey | str | None,
    name: str,
    now: datetime,
    campaign_id: int,
    detail: dict[str, Any],
) -> int:
    """Record the export as started; returns the entry's id for `finish_export_audit`."""
    entry = record_audit(
        session,
        actor=actor,
        action=f"export.{name}",
        now=now,
        target=f"campaign {campaign_id}",
        rows=None,
        detail={**detail, "complete": False},
    )
    session.flush()
    return entry.id


def finish_export_audit(factory: sessionmaker[Session], entry_id: int, rows: int) -> None:
    # Its own short unit of work: the export's reading session may be a long one.
    with factory() as session:
        entry = session.get(AuditEntry, entry_id)
        if entry is not None:
            entry.rows = rows
            entry.detail = {**entry.detail, "complete": True}
            session.commit()
