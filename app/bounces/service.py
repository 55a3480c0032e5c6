"""What one message in the bounce mailbox changes: the e-mail it names becomes `bounced`, and
its person is marked undeliverable after a hard bounce or BOUNCE_SOFT_LIMIT soft ones.

The e-mail is found by the tag in the address the bounce was sent to (BOUNCE_ADDRESS, VERP) or,
without one, by the Message-ID it quotes; both carry an HMAC, so a forged bounce changes
nothing. Takes a session and never commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bounces.parse import Kind, Refused, Report, Severity, read_report
from app.bounces.verp import read_tag
from app.core import metrics
from app.core.config import Settings
from app.core.tokens import verify_message_id
from app.employees.deliverability import mark_bounced
from app.employees.models import Employee
from app.outbox.models import Delivery, DeliveryStatus
from app.outbox.state import record_bounce

log = logging.getLogger(__name__)


class Verdict(StrEnum):
    hard = "hard"
    soft = "soft"
    policy = "policy"  # recorded on the e-mail; says nothing about the address
    auto_reply = "auto_reply"
    notice = "notice"
    duplicate = "duplicate"  # a bounce of an e-mail already recorded as bounced
    forged = "forged"
    unmatched = "unmatched"
    unknown = "unknown"
    refused = "refused"

    @property
    def handled(self) -> bool:
        """Understood and done with: the mailbox may file it away. Anything else stays where
        it is for a person to read (Nanolearn never deletes mail it did not understand)."""
        return self in HANDLED


HANDLED = {
    Verdict.hard,
    Verdict.soft,
    Verdict.policy,
    Verdict.auto_reply,
    Verdict.notice,
    Verdict.duplicate,
}


def handle_message(
    session: Session,
    settings: Settings,
    data: bytes,
    now: datetime,
    *,
    envelope_to: Iterable[str] = (),
) -> Verdict:
    verdict = _handle(session, settings, data, now, list(envelope_to))
    metrics.BOUNCES.labels(str(verdict)).inc()
    log.info("bounce mailbox: a message read as %s", verdict)  # never an address or a token
    return verdict


def _handle(
    session: Session, settings: Settings, data: bytes, now: datetime, envelope_to: list[str]
) -> Verdict:
    try:
        report = read_report(data, max_bytes=settings.bounce_max_kb * 1024)
    except Refused as exc:
        log.warning("bounce mailbox: a message was refused: %s", exc)
        return Verdict.refused
    if report.kind is not Kind.bounce:
        return Verdict(str(report.kind))
    found = delivery_of(settings, report, envelope_to)
    if found is None:
        return Verdict.unmatched
    if found == FORGED:
        return Verdict.forged
    employee_id = record_bounce(session, found, status=report.status, reason=report.reason, now=now)
    if employee_id is None:
        status = session.scalar(select(Delivery.status).where(Delivery.id == found))
        return Verdict.duplicate if status == DeliveryStatus.bounced else Verdict.unmatched
    if report.severity is not Severity.policy and _still_their_address(
        session, employee_id, report
    ):
        mark_bounced(
            session,
            employee_id,
            hard=report.severity is Severity.hard,
            reason=report.reason,
            now=now,
            soft_limit=settings.bounce_soft_limit,
        )
    return Verdict(str(report.severity))


FORGED = -1


def delivery_of(settings: Settings, report: Report, envelope_to: list[str]) -> int | None:
    """The delivery the bounce is about, FORGED for a tag or Message-ID that does not verify,
    None when it names none of ours."""
    secret = settings.secret()
    if settings.bounce_address:
        for address in [*envelope_to, *report.addressed_to]:
            tagged = read_tag(settings.bounce_address, secret, address)
            if tagged is not None:
                return tagged.delivery_id if tagged.delivery_id is not None else FORGED
    if not report.message_ids:
        return None
    ids = {verify_message_id(secret, m) for m in report.message_ids}
    if None in ids:
        return FORGED
    return ids.pop() if len(ids) == 1 else None  # several e-mails quoted: no guessing


def _still_their_address(session: Session, employee_id: int, report: Report) -> bool:
    """A late bounce of an address HR has since corrected says nothing about the new one."""
    if not report.recipients:
        return True
    current = session.scalar(select(Employee.email).where(Employee.id == employee_id))
    return current is not None and current.lower() in report.recipients
