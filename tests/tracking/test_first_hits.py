"""On PostgreSQL a group reads its deliveries and their links' first hits in one statement
(app/tracking/visits.py); it must find what the separate read finds. SQLite keeps the separate
read."""

from __future__ import annotations

from datetime import timedelta

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.tracking.classify import BURST_WINDOW
from app.tracking.models import EventKind, LinkHit
from app.tracking.service import VersionCache
from app.tracking.visits import _FIRST_HITS, Visit, _open
from tests.tracking.campaign import ANNA, ERIK, Sent, delivery_id


def test_the_deliveries_come_with_the_same_first_hits_as_the_separate_read(
    runtime: Runtime, clock: FakeClock, sent: Sent
) -> None:
    now = clock.now()
    anna, erik = delivery_id(runtime, sent.mail[ANNA]), delivery_id(runtime, sent.mail[ERIK])
    hits = [
        (anna, "l:", now - timedelta(seconds=2)),
        (anna, "l:", now - timedelta(seconds=1)),  # a later hit of the same link
        (anna, "a:q1", now - timedelta(seconds=1)),
        (anna, "a:q2", now - BURST_WINDOW - timedelta(seconds=3)),  # before the window
        (erik, "l:", now),
        (erik, "a:q1", now + timedelta(seconds=1)),  # after the group's latest visit
    ]
    with runtime.session_factory() as session:
        session.add_all(LinkHit(delivery_id=d, link=link, at=at) for d, link, at in hits)
        session.flush()
        visits = [
            Visit(now=now, keys=(), delivery_id=d, link="l:", record=lambda o: (EventKind.view, 1))
            for d in (anna, erik)
        ]
        visits.append(Visit(now=now, keys=(), delivery_id=anna, method="POST"))  # no link
        opened, first_hits = _open(session, visits, VersionCache())
        assert set(opened) == {anna, erik}
        separate = {
            (d, link): at
            for d, link, at in session.connection().execute(
                _FIRST_HITS, {"ids": [anna, erik], "earliest": now - BURST_WINDOW, "latest": now}
            )
        }
        session.rollback()
    assert separate == {
        (anna, "l:"): now - timedelta(seconds=2),
        (anna, "a:q1"): now - timedelta(seconds=1),
        (erik, "l:"): now,
    }
    if runtime.engine.dialect.name == "postgresql":
        assert first_hits == separate
    else:
        assert first_hits is None  # read later, by the separate statement
