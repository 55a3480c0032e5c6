"""Forward new statements to the LRS in batches, remembering how far it got.

The cursor is in the audit log: after each batch an entry "xapi.forwarded" (or "xapi.failed"
when the LRS refused some statements of it) with target "lrs <host/path>", the batch's first
and last statement ids and the cursor of its last statement. A new LRS URL starts from the
beginning. Statements younger than LAG are left for the next run: a row being written now may
carry a slightly older timestamp than one already committed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.auth.audit import record_audit
from app.auth.models import AuditEntry
from app.core.db import session_scope
from app.core.locks import XAPI_LOCK_KEY, job_lock
from app.core.runtime import Runtime
from app.xapi.catalog import Catalog
from app.xapi.ids import Identity
from app.xapi.lrs import LrsClient, LrsRefused, LrsUnavailable, Rejection, lrs_configured, lrs_label
from app.xapi.sources import Cursor, Fact, Window
from app.xapi.statements import build
from app.xapi.stream import facts

log = logging.getLogger(__name__)

LAG = timedelta(minutes=2)
ACTIONS = ("xapi.forwarded", "xapi.failed")
MAX_FAILED_IDS = 20


@dataclass
class ForwardReport:
    sent: int = 0
    failed: int = 0
    batches: int = 0
    stopped: str = ""  # why the run ended early, if it did


def load_cursor(runtime: Runtime, target: str) -> Cursor | None:
    with runtime.session_factory() as session:
        detail = session.scalar(
            select(AuditEntry.detail)
            .where(AuditEntry.action.in_(ACTIONS), AuditEntry.target == target)
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
    return Cursor.from_json(detail["cursor"]) if detail else None


def forward_statements(
    runtime: Runtime, now: datetime, client: LrsClient | None = None
) -> ForwardReport:
    """Send what is new since the cursor; a no-op without LRS settings or another runner."""
    settings = runtime.settings
    if not lrs_configured(settings):
        return ForwardReport()
    with job_lock(runtime.engine, XAPI_LOCK_KEY) as held:
        if not held:
            return ForwardReport(stopped="another worker is forwarding")
        lrs = client or LrsClient(settings)
        try:
            return _forward(runtime, lrs, now)
        finally:
            if client is None:
                lrs.close()


def _forward(runtime: Runtime, lrs: LrsClient, now: datetime) -> ForwardReport:
    settings = runtime.settings
    target = f"lrs {lrs_label(settings.lrs_url)}"
    window = Window(after=load_cursor(runtime, target), before=now - LAG)
    ident = Identity.from_settings(settings)
    report = ForwardReport()
    # A long backlog is sent over several runs, so no read snapshot stays open for hours.
    deadline = time.monotonic() + 0.8 * settings.xapi_interval_seconds
    with runtime.session_factory() as session:
        catalog = Catalog.load(session)
        source = facts(session, window)
        while batch := list(itertools.islice(source, settings.lrs_batch_size)):
            statements = [build(fact, ident, catalog) for fact in batch]
            try:
                rejected = lrs.deliver(statements)
            except (LrsUnavailable, LrsRefused) as exc:
                report.stopped = str(exc)
                log.warning("xAPI forwarding to %s paused: %s", target, exc)
                break
            ids = (statements[0]["id"], statements[-1]["id"])
            _remember(runtime, target, now, batch, ids, rejected)
            report.batches += 1
            report.sent += len(batch) - len(rejected)
            report.failed += len(rejected)
            if time.monotonic() > deadline:
                break
    return report


def _remember(
    runtime: Runtime,
    target: str,
    now: datetime,
    batch: list[Fact],
    ids: tuple[Any, Any],
    rejected: list[Rejection],
) -> None:
    detail: dict[str, Any] = {
        "cursor": batch[-1].cursor.to_json(),
        "first_id": ids[0],
        "last_id": ids[1],
        "statements": len(batch),
    }
    if rejected:
        # Refused for good: logged and recorded, never sent again.
        log.error(
            "LRS %s refused %d statements, e.g. %s: %s",
            target,
            len(rejected),
            rejected[0].statement_id,
            rejected[0].reason,
        )
        detail["failed"] = len(rejected)
        detail["failed_ids"] = [r.statement_id for r in rejected[:MAX_FAILED_IDS]]
        detail["status"] = rejected[0].status
        detail["reason"] = rejected[0].reason
    with session_scope(runtime.session_factory) as session:
        record_audit(
            session,
            actor="system",
            action="xapi.failed" if rejected else "xapi.forwarded",
            now=now,
            target=target,
            rows=len(batch) - len(rejected),
            detail=detail,
        )


async def forward_xapi(runtime: Runtime, now: datetime) -> int:
    """The scheduler job: forwards in a thread (database and HTTP block); returns sent count."""
    report = await asyncio.to_thread(forward_statements, runtime, now)
    if report.sent or report.failed:
        log.info("xAPI: %d statements forwarded, %d refused", report.sent, report.failed)
    return report.sent
