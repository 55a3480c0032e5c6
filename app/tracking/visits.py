"""What the gate does for one group of public requests, inside one transaction.

A group is the requests that queued up while the previous group was being stored. For all of
them together: count them against the rate limits, read their deliveries (one query), note
which link of each e-mail was opened (the link-burst rule), store their views and clicks with
their class, store their confirms' answers (together) and do their opt-outs. Invariants:
- a refused request (rate limit) stores nothing and is not counted;
- a request for an unknown, unsent or erased person's delivery stores nothing;
- the burst rule sees the link hits of every serving process: the rate-count upsert locks the
  token's row first, so two processes' groups for one e-mail take turns (PostgreSQL), and on
  SQLite each group holds the write lock from its first statement.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, select, true
from sqlalchemy.orm import Session

from app.core.bulk import insert_into_tables, one_of
from app.outbox.models import Delivery
from app.tracking.classify import BURST_WINDOW, LINK_BURST, burst_began, classify
from app.tracking.models import Event, EventClass, EventKind, LinkHit
from app.tracking.ratelimit import PublicLimits, add_counts, count_requests, forget_old_windows
from app.tracking.service import (
    OPEN_MANY,
    Ask,
    Opened,
    VersionCache,
    chosen_option,
    open_many,
    opened_from_rows,
    reclassify_bursts,
    record_answers,
)

# Which event a request stores, decided from its opened delivery: the kind and the lesson.
Record = tuple[EventKind, int | None]
LINK_HITS_KEPT = timedelta(minutes=1)
PURGE_BATCH = 2000  # link hits deleted per group at most (forget_old_hits)
# Core inserts: the rows are plain dicts, no ORM objects to build and flush (one statement
# per group on PostgreSQL, app/core/bulk.py).
_LINK_HITS: Table = LinkHit.__table__  # type: ignore[assignment]
_EVENTS: Table = Event.__table__  # type: ignore[assignment]
# Built once (a statement built per group cost more CPU than the database's work for it).
_FIRST_HITS = (
    select(LinkHit.delivery_id, LinkHit.link, func.min(LinkHit.at))
    .where(
        one_of(LinkHit.delivery_id, "ids"),
        LinkHit.at >= bindparam("earliest"),
        LinkHit.at <= bindparam("latest"),
    )
    .group_by(LinkHit.delivery_id, LinkHit.link)
)


# PostgreSQL: the group's deliveries and, for each, its links' first hits in the group's window,
# in one statement (a round trip less per group: about 10 % more views and clicks a second,
# docs/benchmarks.md, sixth round).
# It runs after the rate counts have locked the tokens' rows, as _FIRST_HITS does elsewhere.
_FIRST_OF_EACH = (
    select(LinkHit.link, func.min(LinkHit.at).label("first"))
    .where(
        LinkHit.delivery_id == Delivery.id,
        LinkHit.at >= bindparam("earliest"),
        LinkHit.at <= bindparam("latest"),
    )
    .group_by(LinkHit.link)
    .correlate(Delivery)
    .subquery("first_of_each")
)
_HITS_OF_EACH = (
    select(
        func.array_agg(_FIRST_OF_EACH.c.link).label("links"),
        func.array_agg(_FIRST_OF_EACH.c.first).label("firsts"),
    )
    .select_from(_FIRST_OF_EACH)
    .lateral("hits_of_each")
)
_OPEN_WITH_HITS = OPEN_MANY.add_columns(_HITS_OF_EACH.c.links, _HITS_OF_EACH.c.firsts).join(
    _HITS_OF_EACH, true()
)
FirstHits = dict[tuple[int, str], datetime]  # (delivery, link): its first hit in the window


@dataclass(eq=False)
class Visit:
    """One public request as the gate sees it, and (after its group) what came of it."""

    now: datetime
    keys: tuple[str, ...]  # rate-limit keys: the address's, then the token's
    delivery_id: int | None  # None: not a delivery's token (it only counts to the limits)
    method: str = "GET"
    user_agent: str | None = None
    address: str = ""
    link: str | None = None  # which link, for the burst rule (None: a POST, not counted)
    record: Callable[[Opened], Record | None] | None = None
    # A confirm: the question's key and the option the form named (None: none named). After
    # the group, `value` is its AnswerOutcome, or None for no such question or option.
    answer: tuple[str, str | None] | None = None
    # In the transaction, after the events and answers; called with the request's time.
    act: Callable[[Session, Opened, datetime], Any] | None = None
    # Results
    wait: int | None = None  # refused: Retry-After seconds
    opened: Opened | None = None
    value: Any = None


def store_group(
    session: Session, visits: list[Visit], limits: PublicLimits, versions: VersionCache
) -> None:
    """Everything the group's requests store, in the caller's transaction (not committed)."""
    for visit in visits:  # a group tried again one by one starts afresh
        visit.wait, visit.opened, visit.value = None, None, None
    allowed = _count(session, visits, limits)
    opened, first_hits = _open(session, allowed, versions)
    for visit in allowed:
        visit.opened = opened.get(visit.delivery_id) if visit.delivery_id else None
    live = [v for v in allowed if v.opened is not None]
    _store_views_and_clicks(session, live, first_hits)
    _store_answers(session, live)
    for visit in live:
        if visit.act is not None and visit.opened is not None:
            # No savepoint of its own: an act that fails fails the group, which the gate then
            # stores again one request at a time (gate.py), so the others still get through.
            visit.value = visit.act(session, visit.opened, visit.now)


def _open(
    session: Session, allowed: list[Visit], versions: VersionCache
) -> tuple[dict[int, Opened], FirstHits | None]:
    """The allowed visits' deliveries, opened; on PostgreSQL also their links' first hits in
    the window of the group's visits with a link (None: read later, by _bursts)."""
    ids = sorted({v.delivery_id for v in allowed if v.delivery_id})
    linked = [v.now for v in allowed if v.link is not None and v.delivery_id]
    connection = session.connection()
    if not ids or not linked or connection.dialect.name != "postgresql":
        return open_many(session, set(ids), versions), None
    window = {"earliest": min(linked) - BURST_WINDOW, "latest": max(linked)}
    rows = connection.execute(_OPEN_WITH_HITS, {"ids": ids, **window}).all()
    first_hits: FirstHits = {}
    for row in rows:
        for link, at in zip(row[-2] or (), row[-1] or (), strict=True):
            first_hits[(row[0], link)] = at
    return opened_from_rows(session, rows, versions), first_hits


def _store_answers(session: Session, visits: list[Visit]) -> None:
    """The group's confirms together, in request order (app/tracking/service.py). A confirm
    naming no question or option of its e-mail stores nothing and is left out."""
    asked: list[tuple[Visit, Ask]] = []
    for visit in visits:
        if visit.answer is None or visit.opened is None:
            continue
        lesson_key, option = visit.answer
        question = visit.opened.question(lesson_key)
        chosen = chosen_option(question, option) if question else None
        if question is not None and chosen is not None:
            asked.append((visit, Ask(visit.opened, question, chosen, visit.now)))
    outcomes = record_answers(session, [ask for _visit, ask in asked])
    for (visit, _ask), outcome in zip(asked, outcomes, strict=True):
        visit.value = outcome


def _count(session: Session, visits: list[Visit], limits: PublicLimits) -> list[Visit]:
    now = max(v.now for v in visits)
    window = limits.window_of(now)
    counts = count_requests(session, Counter(k for v in visits for k in v.keys), window)
    waits = limits.decide([v.keys for v in visits], counts, now)
    allowed = []
    for visit, wait in zip(visits, waits, strict=True):
        visit.wait = wait
        if wait is None:
            allowed.append(visit)
    refused = Counter(k for v in visits if v.wait is not None for k in v.keys)
    if refused:  # counted above with the others: taken back out
        add_counts(session, Counter({k: -n for k, n in refused.items()}), window)
    return allowed


def _store_views_and_clicks(
    session: Session, visits: list[Visit], first_hits: FirstHits | None
) -> None:
    hits = [v for v in visits if v.link is not None]
    bursts = _bursts(session, hits, first_hits)
    rows = []
    for visit in visits:
        opened = visit.opened
        record = visit.record(opened) if visit.record and opened else None
        if record is None or opened is None:
            continue
        verdict = classify(
            method=visit.method,
            user_agent=visit.user_agent,
            sent_at=opened.delivery.sent_at,
            now=visit.now,
            client_address=visit.address,
        )
        if id(visit) in bursts and verdict[0] == EventClass.human:
            verdict = (EventClass.automated, LINK_BURST)
        rows.append(
            {
                "kind": record[0],
                "delivery_id": opened.delivery.id,
                "lesson_id": record[1],
                "occurred_at": visit.now,
                "classification": verdict[0],
                "class_reason": verdict[1],
            }
        )
    link_hits = [{"delivery_id": v.delivery_id, "link": v.link, "at": v.now} for v in hits]
    insert_into_tables(session.connection(), [(_LINK_HITS, link_hits), (_EVENTS, rows)])
    began: dict[int, datetime] = {}
    for visit in hits:
        start = bursts.get(id(visit))
        if start is not None and visit.delivery_id is not None:
            began[visit.delivery_id] = min(start, began.get(visit.delivery_id, start))
    reclassify_bursts(session, began)


def _bursts(
    session: Session, hits: list[Visit], first_hits: FirstHits | None
) -> dict[int, datetime]:
    """For each visit (by id) that completes a link burst: the time the burst began.

    The link hits of every process in the group's BURST_WINDOW are read back (committed before
    this group took its rate-count rows' locks), one row per e-mail and link with its first
    hit, and this group's own hits are added to them. A group spans milliseconds, so for its
    visits the window is the group's: from its earliest visit's BURST_WINDOW ago to its latest
    visit. `first_hits`: those hits when already read with the deliveries (PostgreSQL, in the
    window of every allowed visit with a link: the same group, the same milliseconds)."""
    if not hits:
        return {}
    latest = max(v.now for v in hits)
    first: FirstHits
    if first_hits is None:
        earliest = min(v.now for v in hits) - BURST_WINDOW
        ids = sorted({v.delivery_id for v in hits if v.delivery_id})
        rows = session.connection().execute(
            _FIRST_HITS, {"ids": ids, "earliest": earliest, "latest": latest}
        )
        first = {(d, link): at for d, link, at in rows}
    else:
        first = dict(first_hits)
    for visit in hits:
        if visit.delivery_id is not None and visit.link is not None:
            key = (visit.delivery_id, visit.link)
            first[key] = min(first.get(key, visit.now), visit.now)
    by_delivery: dict[int, list[tuple[datetime, str]]] = {}
    for (delivery_id, link), at in first.items():
        by_delivery.setdefault(delivery_id, []).append((at, link))
    found: dict[int, datetime] = {}
    for visit in hits:
        began = burst_began(by_delivery.get(visit.delivery_id or 0, []), latest)
        if began is not None:
            found[id(visit)] = began
    return found


def forget_old_hits(
    session: Session, limits: PublicLimits, now: datetime, *, new_window: bool
) -> bool:
    """Rate counts of windows before the previous one (when the window has moved on), and at
    most PURGE_BATCH link hits older than a minute; True when no older hit is left.

    Bounded because it runs inside a group, which its requests wait for: after a storm a
    minute's hits (90,000 rows) took 110 ms to delete on SQLite, a stall for every request of
    that group; in batches the work spreads over the next groups, a few milliseconds each."""
    if new_window:
        forget_old_windows(session, limits.window_of(now))
    oldest = select(LinkHit.id).where(LinkHit.at < now - LINK_HITS_KEPT).limit(PURGE_BATCH)
    deleted = session.execute(
        delete(LinkHit).where(LinkHit.id.in_(oldest.scalar_subquery())),
        execution_options={"synchronize_session": False},
    )
    return int(deleted.rowcount) < PURGE_BATCH  # type: ignore[attr-defined]
