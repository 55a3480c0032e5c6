"""The rate limits and the link-burst rule live in the database, so they hold across serving
processes. Two apps over one database stand for two `serve --workers` processes here (each has
its own gate, thread and memory); tests/tracking/test_serve_workers.py runs real processes."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.main import create_app
from app.tracking import gate as gate_module
from app.tracking import visits as visits_module
from app.tracking.gate import Gate, NotStoredError
from app.tracking.models import LinkHit, PublicHit
from app.tracking.ratelimit import PublicLimits
from app.tracking.service import VersionCache
from app.tracking.visits import Visit
from tests.flow import BROWSER_UA, mail_links
from tests.tracking.campaign import ANNA, Sent, delivery_id, events_of, lesson_view

OFFICE = ("192.0.2.30", 40000)


def other_process(runtime: Runtime, clock: FakeClock) -> FastAPI:
    app = create_app(Runtime(runtime.settings, runtime.engine, runtime.session_factory, clock))
    return app


def rows(runtime: Runtime, table: type[PublicHit] | type[LinkHit]) -> int:
    with runtime.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_a_limit_counts_the_requests_of_every_process(runtime: Runtime, clock: FakeClock) -> None:
    settings = runtime.settings.model_copy(update={"public_rate_per_address": 10})
    shared = Runtime(settings, runtime.engine, runtime.session_factory, clock)
    first = TestClient(create_app(shared), client=OFFICE)
    second = TestClient(create_app(shared), client=OFFICE)
    codes = [(first if i % 2 else second).get(f"/l/guess{i}.x").status_code for i in range(10)]
    assert codes == [404] * 10
    # Each process saw five; together they reached the limit of ten.
    assert first.get("/l/guess-more.x").status_code == 429
    limited = second.get("/l/guess-more.x")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    # No address is stored in clear: the keys are keyed hashes.
    with runtime.session_factory() as session:
        keys = session.scalars(select(PublicHit.key)).all()
    assert keys and not any("192.0.2.30" in key or "guess" in key for key in keys)


def test_a_link_burst_across_processes_is_caught(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    sent: Sent,
) -> None:
    links = mail_links(sent.mail[ANNA])
    answers = next(iter(links.answers.values()))
    assert links.view is not None and len(answers) >= 2
    browser = {"User-Agent": BROWSER_UA}
    second = TestClient(other_process(runtime, clock))
    # Three different links of one e-mail within seconds, spread over two processes.
    assert client.get(links.view, headers=browser).status_code == 200
    clock.advance(seconds=1)
    assert second.get(answers[0], headers=browser).status_code == 200
    clock.advance(seconds=1)
    assert client.get(answers[1], headers=browser).status_code == 200
    reasons = [reason for _kind, _class, reason in events_of(runtime, sent.mail[ANNA])]
    assert reasons == ["link-burst"] * 3


def test_old_counts_and_link_hits_are_deleted_as_time_goes_on(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    sent: Sent,
) -> None:
    view = mail_links(sent.mail[ANNA]).view
    assert view is not None
    for i in range(20):
        client.get(f"/l/guess{i}.x")
    assert client.get(view, headers={"User-Agent": BROWSER_UA}).status_code == 200
    assert rows(runtime, PublicHit) >= 21 and rows(runtime, LinkHit) == 1
    clock.advance(minutes=3)
    assert client.get("/l/one-more.x").status_code == 404
    # Only this request's two keys are left: the earlier windows and link hits are gone.
    assert rows(runtime, PublicHit) == 2 and rows(runtime, LinkHit) == 0


def test_a_huge_token_costs_a_bounded_key(runtime: Runtime, client: TestClient) -> None:
    assert client.get("/l/" + "x" * 6000).status_code == 404
    with runtime.session_factory() as session:
        lengths = {len(key) for key in session.scalars(select(PublicHit.key))}
    assert lengths == {33}


def test_a_refused_request_stores_nothing_and_waiting_is_enough(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    sent: Sent,
) -> None:
    settings = runtime.settings.model_copy(update={"public_rate_per_token": 5})
    view = mail_links(sent.mail[ANNA]).view
    assert view is not None
    browser = {"User-Agent": BROWSER_UA}
    shared = Runtime(settings, runtime.engine, runtime.session_factory, clock)
    first, second = TestClient(create_app(shared)), TestClient(create_app(shared))
    assert [first.get(view, headers=browser).status_code for _ in range(5)] == [200] * 5
    refused = second.get(view, headers=browser)
    assert refused.status_code == 429
    assert len(events_of(runtime, sent.mail[ANNA])) == 5
    clock.advance(seconds=int(refused.headers["retry-after"]))
    assert second.get(view, headers=browser).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert len(events_of(runtime, sent.mail[ANNA])) == 6


def test_an_idle_gate_holds_no_thread_or_connection_and_the_next_request_starts_again(
    runtime: Runtime, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gate_module, "IDLE_SECONDS", 0.1)
    assert client.get("/l/first.x").status_code == 404
    gate = client.app.state.public_gate  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while not gate.idle() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gate.idle()  # no thread, and so no connection, held while idle
    assert client.get("/l/second.x").status_code == 404
    assert rows(runtime, PublicHit) == 3  # one address, two tokens: both requests counted


def test_a_request_that_fails_in_its_group_fails_alone(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    sent: Sent,
) -> None:
    gate = Gate(runtime.engine, PublicLimits(1000, 1000), VersionCache())
    anna = delivery_id(runtime, sent.mail[ANNA])

    def broken(_session: object, _opened: object, _now: object) -> None:
        raise RuntimeError("a bug in one request's work")

    async def both() -> list[object]:
        return await asyncio.gather(
            gate.enter(lesson_view(clock.now(), anna, broken)),
            gate.enter(lesson_view(clock.now(), anna)),
            return_exceptions=True,
        )

    failed, stored = asyncio.run(both())
    assert isinstance(failed, NotStoredError)
    assert isinstance(stored, Visit) and stored.opened is not None
    assert len(events_of(runtime, sent.mail[ANNA])) == 1  # the good one's view, not the other's


def test_a_stopping_server_closes_the_gates_connections(runtime: Runtime, sent: Sent) -> None:
    """The gate keeps its connections between groups while the server runs (on PostgreSQL a
    pool on the event loop), and the server's shutdown closes them."""
    view = mail_links(sent.mail[ANNA]).view
    assert view is not None
    with TestClient(create_app(runtime)) as client:
        assert client.get(view, headers={"User-Agent": BROWSER_UA}).status_code == 200
        gate = client.app.state.public_gate  # type: ignore[attr-defined]
        assert gate.holds_connections() == (runtime.engine.dialect.name == "postgresql")
    assert not gate.holds_connections()
    assert len(events_of(runtime, sent.mail[ANNA])) == 1


def test_old_link_hits_are_deleted_a_batch_per_group_so_no_group_stalls(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    sent: Sent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a storm a minute's link hits are many: each group deletes at most PURGE_BATCH of
    them (its requests wait for it), and the next groups go on until none is left."""
    monkeypatch.setattr(visits_module, "PURGE_BATCH", 10)
    anna = delivery_id(runtime, sent.mail[ANNA])
    with runtime.session_factory() as session:
        session.add_all(
            LinkHit(delivery_id=anna, link="l:", at=clock.now() - timedelta(seconds=i))
            for i in range(25)
        )
        session.commit()
    clock.advance(minutes=3)
    left = [rows(runtime, LinkHit)]
    for i in range(4):
        assert client.get(f"/l/after-the-storm{i}.x").status_code == 404
        left.append(rows(runtime, LinkHit))
    assert left == [25, 15, 5, 0, 0]
