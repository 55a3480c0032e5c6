"""The dispatcher: claim due outbox rows under a lease, render, send, record each result.

Claiming is one UPDATE … RETURNING (on PostgreSQL over a SELECT … FOR UPDATE SKIP LOCKED), so
several workers share the outbox without sending anything twice. Results are written while the
batch is still sending, and a message is only started when fewer than concurrency + flush size
results are unwritten: after a hard kill at most that many e-mails go out a second time, with
the same Message-ID. Leases are renewed while a slow batch sends, so a live worker's rows are
never taken over; a dead worker's rows are claimed again when their lease ends.

With several sending accounts each batch is spread over them: every account is asked for its
share of the batch under its own limits (shares rotate, so none is always asked first), and
sends exactly as many as it was granted, on its own connections.

SQLite serialises writers: run one dispatcher per SQLite database (several are safe, not faster).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy.orm import Session

from app.core import metrics
from app.core.runtime import Runtime
from app.delivery.autopause import pause_failing, pause_refused
from app.delivery.compose import Outgoing
from app.delivery.ratelimit import RateLimiter
from app.delivery.recorder import Recorder
from app.delivery.render_pool import RenderPool
from app.delivery.transport import Route, Transport, routes_of
from app.outbox.results import Outcome, SendResult
from app.outbox.state import (
    campaign_of,
    cancel_unwanted,
    claim_rows,
    mark_broken,
    postpone_outside_window,
    record,
    renew_leases,
)

T = TypeVar("T")


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped: int = 0
    postponed: int = 0  # claimed after the send window closed: back to wait for it
    rate_limited: bool = False
    paused: list[int] = field(default_factory=list)  # campaigns paused for relay failures
    errors: list[str] = field(default_factory=list)

    def add(self, other: DispatchReport) -> None:
        for name in ("claimed", "sent", "retried", "failed", "cancelled", "skipped", "postponed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rate_limited = other.rate_limited
        self.paused += other.paused
        self.errors += other.errors


@dataclass
class _Claim:
    campaign_of: dict[int, int]  # claimed delivery id -> campaign id
    cancelled: list[int]
    postponed: list[int] = field(default_factory=list)

    @property
    def wanted(self) -> list[int]:
        skip = set(self.cancelled) | set(self.postponed)
        return sorted(i for i in self.campaign_of if i not in skip)


class Dispatcher:
    def __init__(
        self,
        runtime: Runtime,
        pool: Transport,
        worker_id: str,
        *,
        limiter: RateLimiter | None = None,
        flush_size: int | None = None,
    ) -> None:
        self.runtime = runtime
        self.pool = pool
        self.worker_id = worker_id
        self.flush_size = flush_size or runtime.settings.dispatch_flush_size
        # One route per sending account, each with its own shared limits (`limiter`, if given,
        # replaces the first account's).
        self.routes: list[Route] = routes_of(pool, runtime.settings)
        self.limiters: list[RateLimiter | None] = [
            RateLimiter(runtime.session_factory, runtime.clock, r.transport.label, r.limits)
            if r.limits
            else None
            for r in self.routes
        ]
        if limiter is not None:
            self.limiters[0] = limiter
        self.limiter = self.limiters[0]
        self._turn = 0  # which account is asked first for the next batch
        self.renderer = RenderPool(runtime, runtime.settings.render_processes)

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
        full = self.runtime.settings.dispatch_batch_size
        grants = await asyncio.to_thread(self._take, full)
        size = sum(grants)
        report.rate_limited = size < full
        if size == 0:
            metrics.RATE_LIMITED.inc()
            return report
        claimed = await self._db(partial(self._claim, limit=size))
        wanted = claimed.wanted
        unused = _shrink(grants, size - len(wanted))
        await asyncio.to_thread(self._give_back, unused)
        report.claimed, report.cancelled = len(claimed.campaign_of), len(claimed.cancelled)
        report.postponed = len(claimed.postponed)
        if not wanted:
            return report
        results, broken = await self._send(claimed, report, grants)
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

    def _take(self, want: int) -> list[int]:
        """Each account's grant for a batch of `want`: a fair share first, then what the
        others could not take. Accounts without limits take what they are offered."""
        n = len(self.routes)
        order = [(self._turn + k) % n for k in range(n)]
        self._turn = (self._turn + 1) % n
        grants = [0] * n
        left = want
        for k, i in enumerate(order):
            share = -(-left // (n - k))  # ceil: the rest split over the accounts not yet asked
            limiter = self.limiters[i]
            grants[i] = limiter.take(share) if limiter is not None else share
            left -= grants[i]
        for i in order:
            limiter = self.limiters[i]
            if left <= 0:
                break
            if limiter is None:
                grants[i] += left
                left = 0
            elif grants[i]:  # it gave all it was asked for: it may have more
                more = limiter.take(left)
                grants[i] += more
                left -= more
        return grants

    def _give_back(self, unused: list[int]) -> None:
        for limiter, count in zip(self.limiters, unused, strict=True):
            if limiter is not None and count:
                limiter.give_back(count)

    def _claim(self, session: Session, limit: int) -> _Claim:
        settings, now = self.runtime.settings, self.runtime.clock.now()
        lease = timedelta(seconds=settings.lease_seconds)
        campaign_of = claim_rows(session, self.worker_id, now, limit, lease)
        if not campaign_of:
            return _Claim({}, [])
        cancelled = cancel_unwanted(session, list(campaign_of))
        postponed = postpone_outside_window(session, campaign_of, cancelled, now)
        return _Claim(campaign_of, cancelled, postponed)

    async def _send(
        self, claimed: _Claim, report: DispatchReport, grants: list[int]
    ) -> tuple[list[SendResult], dict[int, str]]:
        """Render and send the claimed e-mails, writing each result as it lands. Account i
        sends at most grants[i] of them, on at most its own concurrency of lanes."""
        quota = list(grants)
        lanes = [
            i
            for i, route in enumerate(self.routes)
            for _ in range(min(route.transport.concurrency, quota[i]))
        ]
        concurrency = len(lanes)
        permits = concurrency + self.flush_size
        room = asyncio.Semaphore(permits)
        unfinished = set(claimed.wanted)
        stopped: set[int] = set()  # campaigns the relay refuses: nothing more is tried for them

        async def write(results: list[SendResult]) -> None:
            report.paused += await self._db(lambda s: self._write(s, results))
            unfinished.difference_update(r.delivery_id for r in results)

        recorder = Recorder(write, self.flush_size, room, permits)
        renewer = asyncio.create_task(self._keep_leases(unfinished))
        ready: asyncio.Queue[Outgoing | None] = asyncio.Queue()
        broken: dict[int, str] = {}
        renderer = asyncio.create_task(self.renderer.render(claimed.wanted, ready, broken))
        results: list[SendResult] = []

        async def lane(account: int) -> None:
            transport = self.routes[account].transport
            while quota[account] > 0:  # then this account's share is sent: the lane ends
                quota[account] -= 1
                item = await ready.get()
                if item is not None:
                    await room.acquire()
                if item is None or recorder.error is not None:
                    ready.put_nowait(None)  # the end, for the next lane too
                    return
                campaign_id = claimed.campaign_of[item.delivery_id]
                if campaign_id in stopped:
                    result = SendResult(item.delivery_id, Outcome.skipped, item.message_id)
                else:
                    result = await transport.send(item)
                    if result.outcome is Outcome.blocked:
                        stopped.add(campaign_id)
                results.append(result)
                recorder.add(result)

        try:
            await asyncio.gather(renderer, *(lane(i) for i in lanes))
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
        refused: dict[int, tuple[str, str]] = {}
        for r in results:
            if r.outcome is Outcome.blocked:
                campaign_id = campaign_of(session, r.delivery_id)
                if campaign_id is not None:
                    refused.setdefault(campaign_id, (r.error, r.advice))
        return pause_refused(session, refused, now)

    def _pause_failing(
        self, session: Session, campaign_ids: set[int], results: list[SendResult]
    ) -> list[int]:
        settings = self.runtime.settings
        example = next(r.error for r in results if r.outcome is Outcome.permanent)
        return pause_failing(
            session,
            campaign_ids,
            example,
            window=settings.failure_pause_window,
            percent=settings.failure_pause_percent,
            now=self.runtime.clock.now(),
        )

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


def _shrink(grants: list[int], unused: int) -> list[int]:
    """Take `unused` off the grants (the last accounts' first); returns what each gives back."""
    back = [0] * len(grants)
    for i in reversed(range(len(grants))):
        take = min(unused, grants[i])
        grants[i] -= take
        back[i] = take
        unused -= take
    return back
