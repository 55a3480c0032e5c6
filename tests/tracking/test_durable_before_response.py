"""A 200 means it is stored: the request's commit happens before its response is sent, on the
public pages and in the admin API alike. A real server (uvicorn on 127.0.0.1) answers while
another connection holds the database's write lock: the response must wait for the commit."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url

from app.campaigns.models import Campaign
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.tracking.models import Event
from tests.a11y.browser import live_server
from tests.flow import BROWSER_UA, mail_links
from tests.smtp_server import SmtpSink
from tests.tracking.campaign import ANNA, delivery_id, send_first_lesson
from tests.tracking.test_answer_races import serve

HELD_SECONDS = 1.5


@contextmanager
def write_lock(engine: Engine) -> Iterator[None]:
    """Every writer waits while the block runs (readers go on)."""
    if engine.dialect.name == "sqlite":
        database = make_url(engine.url).database
        assert database is not None
        conn = sqlite3.connect(database, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    with engine.connect() as conn:
        conn.execute(text("LOCK TABLE events, campaigns, audit_log IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            conn.rollback()


def answered_while_locked(
    engine: Engine, call: Callable[[], httpx.Response]
) -> tuple[bool, httpx.Response]:
    """Whether the response came while writers were held, and the response itself."""
    result: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: result.append(call()))
    with write_lock(engine):
        thread.start()
        thread.join(HELD_SECONDS)
        early = bool(result)
    thread.join(30)
    assert result, "no response at all"
    return early, result[0]


@pytest.mark.slow
def test_a_response_is_sent_only_after_its_commit(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> None:
    sent = send_first_lesson(runtime, client, clock, smtp_sink, editor_headers)
    clock.advance(minutes=30)
    mail = sent.mail[ANNA]
    view = mail_links(mail).view
    assert view is not None
    path = view.removeprefix(runtime.settings.base_url)
    browser = {"User-Agent": BROWSER_UA}
    with live_server(serve(runtime, clock)) as base:
        # A lesson view: the event is written at the commit.
        early, response = answered_while_locked(
            runtime.engine, lambda: httpx.get(base + path, headers=browser, timeout=30)
        )
        assert response.status_code == 200
        assert not early, "the page was sent before its view was committed"
        with runtime.session_factory() as session:
            kinds = session.scalars(
                select(Event.kind).where(Event.delivery_id == delivery_id(runtime, mail))
            ).all()
        assert kinds == ["view"]

        # An admin change: the campaign's new name is stored before the API says 200.
        url = f"{base}/api/v1/campaigns/{sent.campaign_id}"
        early, response = answered_while_locked(
            runtime.engine,
            lambda: httpx.patch(
                url, json={"name": "Nytt namn"}, headers=editor_headers, timeout=30
            ),
        )
        assert response.status_code == 200, response.text
        assert not early, "the API answered before its change was committed"
        with runtime.session_factory() as session:
            assert session.get(Campaign, sent.campaign_id).name == "Nytt namn"  # type: ignore[union-attr]
