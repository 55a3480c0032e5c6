"""The dispatcher: claim due outbox rows under a lease, render, send, record each result.

Claiming is one UPDATE … RETURNING (on PostgreSQL over a SELECT … FOR UPDATE SKIP LOCKED), so
several workers share the outbox without sending anything twice. Results are written while the
batch is still sending, and a message is only started when fewer than concurrency + flush size
results are unwritten: after a hard kill at most that many e-mails go out a second time, with
the same Message-ID. Leases are renewed while a slow batch sends, so a live worker's rows are
never taken over; a dead worker's rows are claimed again when their lease ends.

SQLite serialises writers: run one dispatcher per SQLite database (several are safe, not faster).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from multiprocessing import get_context
from typing import Any, TypeVar, cast

from sqlalchemy import Table, and_, bindparam, case, delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.campaigns.models import Campaign, CampaignStatus, Enrollment, EnrollmentStatus
from app.campaigns.service import schedule_of, transition
from app.core import metrics
from app.core.config import Settings
from app.core.db import make_engine, make_session_factory
from app.core.logging import EMAIL
from app.core.runtime import Runtime
from app.delivery.compose import Outgoing, compose_batch
from app.delivery.models import Delivery, DeliveryStatus
from app.delivery.ratelimit import RateLimiter, limits_from_settings
from app.delivery.smtp import Outcome, SendResult, SmtpPool
from app.employees.models import Employee

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
WRITE_RETRIES = 5  # a database blip while recording: wait and write again, then give up
LINGER_SECONDS = 0.05  # results wait at most this long for a fuller flush


def retry_delay(attempts: int, rng: random.Random = random.SystemRandom()) -> timedelta:
    """Exponential backoff with ±20 % jitter, so workers do not retry in lockstep."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return delay * rng.uniform(0.8, 1.2)


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped: int = 0
    rate_limited: bool = False
    paused: list[int] = field(default_factory=list)  # campaigns paused for relay failures
    errors: list[str] = field(default_factory=list)

    def add(self, other: DispatchReport) -> None:
        for name in ("claimed", "sent", "retried", "failed", "cancelled", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rate_limited = other.rate_limited
        self.paused += other.paused
        self.errors += other.errors


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
    """Deliveries whose person left, opted out or has no address: cancelled, not sent."""
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


def pause_campaign(session: Session, campaign_id: int, reason: str, now: datetime) -> bool:
    """Pause a running campaign with a reason people can act on; False if it is not running."""
    campaign = session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None or campaign.status != CampaignStatus.running:
        return False
    transition(session, campaign, "pause", now, reason=reason[:1000])
    metrics.CAMPAIGNS_PAUSED.inc()
    log.warning("campaign %s paused: %s", campaign_id, reason)
    return True


def recent_failures(session: Session, campaign_id: int, window: int) -> tuple[int, int]:
    """(finished, failed) over the campaign's last `window` finished e-mails."""
    recent = (
        select(Delivery.status)
        .where(
            Delivery.campaign_id == campaign_id,
            Delivery.status.in_([DeliveryStatus.sent, DeliveryStatus.failed]),
        )
        .order_by(Delivery.id.desc())
        .limit(window)
        .subquery()
    )
    finished, failed = session.execute(
        select(func.count(), func.count(case((recent.c.status == DeliveryStatus.failed, 1))))
    ).one()
    return int(finished), int(failed)


def _relay_refuses(error: str) -> str:
    return (
        f"Paused automatically: the mail relay refuses to send for us ({error}). "
        "Check NANOLEARN_MAIL_FROM and NANOLEARN_SMTP_URL (login, TLS) with the relay's "
        "administrator, then resume the campaign."
    )


def _too_many_failures(failed: int, finished: int, percent: float, error: str) -> str:
    example = EMAIL.sub("<address>", error[:200])  # the reason is shown; the address is not
    return (
        f"Paused automatically: {failed} of the last {finished} e-mails were refused "
        f"(more than {percent:g} %). A refusal looks like: {example}. Check the "
        "employee addresses and the relay, then resume the campaign."
    )


@dataclass
class _Claim:
    campaign_of: dict[int, int]  # claimed delivery id -> campaign id
    cancelled: list[int]

    @property
    def wanted(self) -> list[int]:
        skip = set(self.cancelled)
        return sorted(i for i in self.campaign_of if i not in skip)


# --- rendering: on a thread here, or in helper processes when it is the bottleneck -----------

_helper: tuple[Settings, sessionmaker[Session]] | None = None


def _start_helper(settings: Settings) -> None:
    global _helper
    _helper = (settings, make_session_factory(make_engine(settings.database_url)))


def _render_in_helper(ids: list[int], now: datetime) -> list[Outgoing]:
    assert _helper is not None, "the helper process was not initialised"
    settings, factory = _helper
    with factory() as session:
        return compose_batch(session, settings, ids, now)


class _Renderer:
    """Renders claimed e-mails and hands them over as they are done. In helper processes a
    batch is cut into chunks rendered side by side, and sending starts with the first chunk; on
    a thread it is rendered in one go (a thread would only take turns with the event loop)."""

    CHUNK = 50

    def __init__(self, runtime: Runtime, processes: int) -> None:
        self.runtime = runtime
        self.processes = processes
        self.executor: ProcessPoolExecutor | None = None
        if processes:
            self.executor = ProcessPoolExecutor(
                processes,
                mp_context=get_context("spawn"),  # a fork would copy our threads and sockets
                initializer=_start_helper,
                initargs=(runtime.settings,),
            )

    def _here(self, ids: list[int], now: datetime) -> list[Outgoing]:
        with self.runtime.session_factory() as session:
            return compose_batch(session, self.runtime.settings, ids, now)

    async def _chunk(self, ids: list[int], now: datetime) -> list[Outgoing]:
        if self.executor is None:
            return await asyncio.to_thread(self._here, ids, now)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, _render_in_helper, ids, now)

    async def render(
        self, ids: list[int], out: asyncio.Queue[Outgoing | None], broken: dict[int, str]
    ) -> None:
        """Put every e-mail on `out`, then None; what cannot be rendered goes to `broken`."""
        now = self.runtime.clock.now()
        turns = asyncio.Semaphore(max(1, 2 * self.processes))  # keep every helper busy

        async def one(chunk: list[int]) -> None:
            async with turns:
                try:
                    items = await self._chunk(chunk, now)
                except Exception:
                    log.exception("rendering a chunk failed; rendering its e-mails one at a time")
                    items = await self._one_by_one(chunk, now, broken)
            for item in items:
                out.put_nowait(item)
            done = {item.delivery_id for item in items}
            for missing in (i for i in chunk if i not in done and i not in broken):
                broken[missing] = "could not render: the employee or lesson is gone"

        try:
            step = self.CHUNK if self.executor is not None else max(1, len(ids))
            await asyncio.gather(*(one(ids[i : i + step]) for i in range(0, len(ids), step)))
        finally:
            out.put_nowait(None)

    async def _one_by_one(
        self, ids: list[int], now: datetime, broken: dict[int, str]
    ) -> list[Outgoing]:
        items: list[Outgoing] = []
        for delivery_id in ids:  # one broken e-mail must not hold up the whole outbox
            try:
                items += await self._chunk([delivery_id], now)
            except Exception as exc:
                log.exception("delivery %s cannot be rendered; marked failed", delivery_id)
                broken[delivery_id] = f"could not render: {type(exc).__name__}: {exc}"[:500]
        return items

    async def warm_up(self) -> None:
        """Start the helper processes now rather than on the first batch (each imports the app)."""
        if self.executor is not None:
            now = self.runtime.clock.now()
            await asyncio.gather(*(self._chunk([], now) for _ in range(self.processes)))

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None


def mark_broken(session: Session, worker_id: str, broken: dict[int, str]) -> None:
    for delivery_id, error in broken.items():
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.claimed_by == worker_id)
            .values(status=DeliveryStatus.failed, lease_until=None, last_error=error)
        )


class _Recorder:
    """Writes results as they land, one transaction at a time: a flush of `flush_size`, or
    whatever has come in after LINGER_SECONDS. `room` bounds sent-but-unwritten results: a lane
    takes a permit before it sends and the permit comes back once the result is committed."""

    def __init__(
        self,
        write: Callable[[list[SendResult]], Awaitable[None]],
        flush_size: int,
        room: asyncio.Semaphore,
        permits: int,
    ) -> None:
        self.write, self.flush_size, self.room, self.permits = write, flush_size, room, permits
        self.pending: list[SendResult] = []
        self.error: BaseException | None = None
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run())

    def add(self, result: SendResult) -> None:
        self.pending.append(result)
        self._wake.set()
        if len(self.pending) >= self.flush_size:
            self._full.set()

    async def _run(self) -> None:
        while self.error is None:
            if not self.pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if len(self.pending) < self.flush_size and not self._closing:
                # A moment for more results: one transaction for many, not one for each.
                self._full.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), LINGER_SECONDS)
            batch = self.pending[: self.flush_size]
            del self.pending[: len(batch)]
            try:
                await self._write(batch)
            except Exception as exc:
                self.error = exc
                for _ in range(self.permits):  # wake the lanes so they see the error
                    self.room.release()
                return
            for _ in batch:
                self.room.release()

    async def _write(self, batch: list[SendResult]) -> None:
        for attempt in range(WRITE_RETRIES):
            try:
                await self.write(batch)
                return
            except Exception:
                if attempt == WRITE_RETRIES - 1:
                    raise
                log.warning("recording results failed; trying again", exc_info=True)
                await asyncio.sleep(0.5 * 2**attempt)

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        self._full.set()
        await self._task
        if self.error is not None:
            raise self.error


class Dispatcher:
    def __init__(
        self,
        runtime: Runtime,
        pool: SmtpPool,
        worker_id: str,
        *,
        limiter: RateLimiter | None = None,
        flush_size: int | None = None,
    ) -> None:
        self.runtime = runtime
        self.pool = pool
        self.worker_id = worker_id
        self.flush_size = flush_size or runtime.settings.dispatch_flush_size
        limits = limits_from_settings(runtime.settings)
        if limiter is None and limits:
            limiter = RateLimiter(runtime.session_factory, runtime.clock, pool.target.label, limits)
        self.limiter = limiter
        self.renderer = _Renderer(runtime, runtime.settings.render_processes)

    async def start(self) -> None:
        """Start the rendering helper processes, if any (else they start with the first batch)."""
        await self.renderer.warm_up()

    def close(self) -> None:
        """Stop the rendering helper processes, if any."""
        self.renderer.close()

    def _in_session(self, work: Callable[[Session], T]) -> T:
        with self.runtime.session_factory() as session:
            value = work(session)
            session.commit()
            return value

    async def _db(self, work: Callable[[Session], T]) -> T:
        """Run `work` in its own transaction on a thread: the event loop keeps sending."""
        return await asyncio.to_thread(self._in_session, work)

    async def run_once(self) -> DispatchReport:
        """Claim one batch (as many as the relay's rate limit allows) and send it."""
        report = DispatchReport()
        full = size = self.runtime.settings.dispatch_batch_size
        limiter = self.limiter
        if limiter is not None:
            size = await asyncio.to_thread(limiter.take, full)
            report.rate_limited = size < full
            if size == 0:
                metrics.RATE_LIMITED.inc()
                return report
        claimed = await self._db(partial(self._claim, limit=size))
        wanted = claimed.wanted
        if limiter is not None:
            await asyncio.to_thread(limiter.give_back, size - len(wanted))
        report.claimed, report.cancelled = len(claimed.campaign_of), len(claimed.cancelled)
        if not wanted:
            return report
        results, broken = await self._send(claimed, report)
        tally = Counter(r.outcome for r in results)
        report.sent += tally[Outcome.sent]
        report.failed += tally[Outcome.permanent] + len(broken)
        report.retried += tally[Outcome.temporary] + tally[Outcome.blocked]
        report.skipped += tally[Outcome.skipped]
        if tally[Outcome.permanent]:
            failing = {
                claimed.campaign_of[r.delivery_id]
                for r in results
                if r.outcome is Outcome.permanent
            }
            report.paused += await self._db(lambda s: self._pause_failing(s, failing, results))
        return report

    def _claim(self, session: Session, limit: int) -> _Claim:
        settings, now = self.runtime.settings, self.runtime.clock.now()
        lease = timedelta(seconds=settings.lease_seconds)
        campaign_of = claim_rows(session, self.worker_id, now, limit, lease)
        cancelled = cancel_unwanted(session, list(campaign_of)) if campaign_of else []
        return _Claim(campaign_of, cancelled)

    async def _send(
        self, claimed: _Claim, report: DispatchReport
    ) -> tuple[list[SendResult], dict[int, str]]:
        """Render and send the claimed e-mails, writing each result as it lands."""
        concurrency = self.pool.concurrency
        permits = concurrency + self.flush_size
        room = asyncio.Semaphore(permits)
        unfinished = set(claimed.wanted)
        stopped: set[int] = set()  # campaigns the relay refuses: nothing more is tried for them

        async def write(results: list[SendResult]) -> None:
            report.paused += await self._db(lambda s: self._write(s, results))
            unfinished.difference_update(r.delivery_id for r in results)

        recorder = _Recorder(write, self.flush_size, room, permits)
        renewer = asyncio.create_task(self._keep_leases(unfinished))
        ready: asyncio.Queue[Outgoing | None] = asyncio.Queue()
        broken: dict[int, str] = {}
        renderer = asyncio.create_task(self.renderer.render(claimed.wanted, ready, broken))
        results: list[SendResult] = []

        async def lane() -> None:
            while (item := await ready.get()) is not None:
                await room.acquire()
                if recorder.error is not None:
                    break
                campaign_id = claimed.campaign_of[item.delivery_id]
                if campaign_id in stopped:
                    result = SendResult(item.delivery_id, Outcome.skipped, item.message_id)
                else:
                    result = await self.pool.send(item)
                    if result.outcome is Outcome.blocked:
                        stopped.add(campaign_id)
                results.append(result)
                recorder.add(result)
            ready.put_nowait(None)  # the end, for the next lane too

        try:
            await asyncio.gather(renderer, *(lane() for _ in range(concurrency)))
        finally:
            renewer.cancel()
            renderer.cancel()
            await recorder.close()
        if broken:
            await self._db(partial(mark_broken, worker_id=self.worker_id, broken=broken))
            unfinished.difference_update(broken)
        return results, broken

    def _write(self, session: Session, results: list[SendResult]) -> list[int]:
        """Record one flush; a relay that refuses us pauses the campaigns concerned."""
        now = self.runtime.clock.now()
        record(session, self.worker_id, results, now)
        paused = []
        blocked: dict[int | None, str] = {}
        for r in results:
            if r.outcome is Outcome.blocked:
                blocked.setdefault(self._campaign_of(session, r.delivery_id), r.error)
        for campaign_id, error in blocked.items():
            if campaign_id is not None and pause_campaign(
                session, campaign_id, _relay_refuses(error), now
            ):
                paused.append(campaign_id)
        return paused

    @staticmethod
    def _campaign_of(session: Session, delivery_id: int) -> int | None:
        return session.scalar(select(Delivery.campaign_id).where(Delivery.id == delivery_id))

    def _pause_failing(
        self, session: Session, campaign_ids: set[int], results: list[SendResult]
    ) -> list[int]:
        settings, now = self.runtime.settings, self.runtime.clock.now()
        window, percent = settings.failure_pause_window, settings.failure_pause_percent
        example = next(r.error for r in results if r.outcome is Outcome.permanent)
        paused = []
        for campaign_id in sorted(campaign_ids):
            finished, failed = recent_failures(session, campaign_id, window)
            if finished >= window and failed * 100 > percent * finished:
                reason = _too_many_failures(failed, finished, percent, example)
                if pause_campaign(session, campaign_id, reason, now):
                    paused.append(campaign_id)
        return paused

    async def _keep_leases(self, unfinished: set[int]) -> None:
        """Extend the lease of this batch's unsent rows while it is sending (slow relays)."""
        lease = timedelta(seconds=self.runtime.settings.lease_seconds)
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            ids = sorted(unfinished)
            if not ids:
                continue
            until = self.runtime.clock.now() + lease
            await self._db(partial(renew_leases, worker_id=self.worker_id, ids=ids, until=until))

    async def drain(self, max_batches: int = 10_000) -> DispatchReport:
        """Send everything due now (tests and the CLI): batches until nothing is claimed."""
        total = DispatchReport()
        for _ in range(max_batches):
            report = await self.run_once()
            total.add(report)
            if report.claimed == 0:
                break
        return total
