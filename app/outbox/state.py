r"""The outbox state machine: the one place that changes a delivery's status.

    pending --claim--> sending --record sent--> sent
       ^                  |  \--record failure (5xx, out of attempts, broken)--> failed
       |                  \--record failure (4xx, connection)--> pending (retry later)
       |                  \--lease ends (worker died)--> claimed again
       +-- planner writes rows;  pending --drop (pause, cancel, erasure)--> gone
    pending/sending --cancel unwanted (person left, opted out, undeliverable)--> cancelled
    sent --record bounce (a bounce came back)--> bounced

Invariants: a row is only claimed when its campaign is running and its due time has come; only
the worker holding a row (claimed_by) may record its result; a retry never lands outside the
campaign's send window, and a claimed row whose window has closed goes back to wait for it.
Functions take a session and never commit.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignStatus, Enrollment, EnrollmentStatus
from app.campaigns.service import schedule_of
from app.employees.models import Employee
from app.outbox.models import Delivery, DeliveryStatus
from app.outbox.results import Outcome, SendResult

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)


def retry_delay(attempts: int, rng: random.Random = random.SystemRandom()) -> timedelta:
    """Exponential backoff with ±20 % jitter, so workers do not retry in lockstep."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return delay * rng.uniform(0.8, 1.2)


def claim_rows(
    session: Session, worker_id: str, now: datetime, limit: int, lease: timedelta
) -> dict[int, int]:
    """Claim up to `limit` due deliveries of running campaigns: {delivery id: campaign id}."""
    expired = and_(Delivery.status == DeliveryStatus.sending, Delivery.lease_until < now)
    pending = and_(Delivery.status == DeliveryStatus.pending, Delivery.due_at <= now)
    # Two queries, each walking the (status, due_at) index in order and stopping at `limit`:
    # one with an OR, or a tie-break on id, would sort every due row of a large campaign for
    # every batch. Rows of a dead worker come first: they have waited longest.
    ids = _candidates(session, expired, Delivery.lease_until, limit)
    if len(ids) < limit:
        ids += _candidates(session, pending, Delivery.due_at, limit - len(ids))
    if not ids:
        return {}
    # The WHERE repeats the due condition, so a row another process took meanwhile is not taken.
    claimed = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), or_(pending, expired))
        .values(
            status=DeliveryStatus.sending,
            claimed_by=worker_id,
            lease_until=now + lease,
            attempts=Delivery.attempts + 1,
        )
        .returning(Delivery.id, Delivery.campaign_id)
        .execution_options(synchronize_session=False)
    )
    return {int(i): int(c) for i, c in claimed}


def _candidates(session: Session, due: Any, order: Any, limit: int) -> list[int]:
    query = (
        select(Delivery.id)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(due, Campaign.status == CampaignStatus.running)
        .order_by(order)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Delivery, skip_locked=True)
    return list(session.scalars(query))


def claim(
    session: Session, worker_id: str, now: datetime, limit: int, lease: timedelta
) -> list[int]:
    """Claim up to `limit` due deliveries of running campaigns; returns the ids claimed."""
    return sorted(claim_rows(session, worker_id, now, limit, lease))


def cancel_unwanted(session: Session, ids: list[int]) -> list[int]:
    """Deliveries whose person left, opted out, has no address or an address that bounced:
    cancelled, not sent."""
    unwanted = list(
        session.scalars(
            select(Delivery.id)
            .join(Enrollment, Enrollment.id == Delivery.enrollment_id)
            .join(Employee, Employee.id == Enrollment.employee_id)
            .where(
                Delivery.id.in_(ids),
                or_(
                    Enrollment.status != EnrollmentStatus.active,
                    Employee.active.is_(False),
                    Employee.email.is_(None),
                    Employee.undeliverable_at.is_not(None),
                ),
            )
        )
    )
    if unwanted:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(unwanted))
            .values(status=DeliveryStatus.cancelled, lease_until=None)
            .execution_options(synchronize_session=False)
        )
    return unwanted


def postpone_outside_window(
    session: Session, campaign_of: dict[int, int], skip: list[int], now: datetime
) -> list[int]:
    """Claimed rows whose campaign's send window is closed now (a send that outlasted its
    window, or waited for a daily limit into the night) go back to pending until it opens.
    The claim was no attempt, so it is not counted as one."""
    postponed: list[int] = []
    left = set(skip)
    for campaign_id in sorted(set(campaign_of.values())):
        campaign = session.get(Campaign, campaign_id)
        schedule = schedule_of(campaign) if campaign is not None else None
        if schedule is None or schedule.in_window(now):
            continue
        ids = [i for i, c in campaign_of.items() if c == campaign_id and i not in left]
        if not ids:
            continue
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids))
            .values(
                status=DeliveryStatus.pending,
                due_at=schedule.window_opening(now),
                claimed_by=None,
                lease_until=None,
                attempts=Delivery.attempts - 1,
            )
            .execution_options(synchronize_session=False)
        )
        postponed += ids
    return postponed


def record(session: Session, worker_id: str, results: list[SendResult], now: datetime) -> None:
    """Write send results; only rows this worker still holds are touched."""
    mine = and_(Delivery.claimed_by == worker_id, Delivery.status == DeliveryStatus.sending)
    sent = [r for r in results if r.outcome is Outcome.sent]
    if sent:
        session.connection().execute(
            update(cast(Table, Delivery.__table__))
            .where(Delivery.id == bindparam("b_id"), mine)
            .values(
                status=DeliveryStatus.sent,
                message_id=bindparam("b_mid"),
                sent_at=now,
                lease_until=None,
                last_error=None,
            ),
            [{"b_id": r.delivery_id, "b_mid": r.message_id} for r in sent],
        )
    others = {r.delivery_id: r for r in results if r.outcome is not Outcome.sent}
    if others:
        _record_failures(session, worker_id, others, now)


def _record_failures(
    session: Session, worker_id: str, results: dict[int, SendResult], now: datetime
) -> None:
    rows = session.execute(
        select(Delivery, Campaign)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(
            Delivery.id.in_(results),
            Delivery.claimed_by == worker_id,
            Delivery.status == DeliveryStatus.sending,
        )
    ).all()
    dropped: list[int] = []
    for delivery, campaign in rows:
        result = results[delivery.id]
        final = result.outcome is Outcome.permanent or delivery.attempts >= MAX_ATTEMPTS
        if result.outcome is Outcome.skipped or (
            not final and campaign.status != CampaignStatus.running
        ):
            # A paused or ended campaign drops its unsent e-mails (as pausing does): on resume
            # the slot is planned again and carries the same lesson.
            dropped.append(delivery.id)
            continue
        delivery.last_error = result.error
        delivery.lease_until = None
        if final:
            delivery.status = DeliveryStatus.failed
            continue
        # A retry that would land outside the send window waits for the next window.
        retry_at = now + retry_delay(delivery.attempts)
        delivery.due_at = schedule_of(campaign).window_opening(retry_at)
        delivery.status = DeliveryStatus.pending
    if dropped:
        session.execute(
            delete(Delivery)
            .where(Delivery.id.in_(dropped))
            .execution_options(synchronize_session=False)
        )


def record_bounce(
    session: Session, delivery_id: int, *, status: str | None, reason: str, now: datetime
) -> int | None:
    """A sent e-mail bounced: it becomes `bounced` with the status code and the reason.

    Returns the employee's id when this bounce is news, None when the delivery is unknown, was
    never sent, or has bounced before (a second report of the same bounce counts once)."""
    enrollment_id = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.sent)
        .values(
            status=DeliveryStatus.bounced,
            bounce_status=status,
            bounced_at=now,
            last_error=reason[:500],
        )
        .returning(Delivery.enrollment_id)
        .execution_options(synchronize_session=False)
    ).scalar()
    if enrollment_id is None:
        return None
    return session.scalar(select(Enrollment.employee_id).where(Enrollment.id == enrollment_id))


def renew_leases(session: Session, *, worker_id: str, ids: list[int], until: datetime) -> None:
    session.execute(
        update(Delivery)
        .where(
            Delivery.id.in_(ids),
            Delivery.claimed_by == worker_id,
            Delivery.status == DeliveryStatus.sending,
        )
        .values(lease_until=until)
        .execution_options(synchronize_session=False)
    )


def mark_broken(session: Session, worker_id: str, broken: dict[int, str]) -> None:
    for delivery_id, error in broken.items():
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.claimed_by == worker_id)
            .values(status=DeliveryStatus.failed, lease_until=None, last_error=error)
        )


def recent_failures(session: Session, campaign_id: int, window: int) -> tuple[int, int]:
    """(finished, failed) over the campaign's last `window` finished e-mails."""
    recent = (
        select(Delivery.status)
        .where(
            Delivery.campaign_id == campaign_id,
            Delivery.status.in_(
                [DeliveryStatus.sent, DeliveryStatus.bounced, DeliveryStatus.failed]
            ),
        )
        .order_by(Delivery.id.desc())
        .limit(window)
        .subquery()
    )
    finished, failed = session.execute(
        select(func.count(), func.count(case((recent.c.status == DeliveryStatus.failed, 1))))
    ).one()
    return int(finished), int(failed)


def drop_pending(session: Session, campaign_id: int, before: datetime | None = None) -> int:
    """Delete a campaign's unsent e-mails (all, or those of slots before `before`)."""
    condition = and_(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.pending)
    if before is not None:
        condition = and_(condition, Delivery.slot_at < before)
    result = session.execute(delete(Delivery).where(condition))
    return int(getattr(result, "rowcount", 0) or 0)


def campaign_of(session: Session, delivery_id: int) -> int | None:
    return session.scalar(select(Delivery.campaign_id).where(Delivery.id == delivery_id))
