"""/healthz, /readyz, /metrics and the JSON logs, against a real database and SMTP server."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.core.clock import FakeClock
from app.core.db import make_engine, make_session_factory
from app.core.logging import JsonFormatter, Redactor, configure_logging
from app.core.runtime import Runtime
from app.delivery.jobs import plan_once
from app.main import create_app
from tests.delivery.faulty_smtp import FaultInjectingHandler, FaultPlan
from tests.delivery.worker_process import SLOT, make_campaign
from tests.flow import tick
from tests.smtp_server import SmtpSink


def metrics(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(sampled: dict, name: str, **labels: str) -> float:
    return float(sampled.get((name, tuple(sorted(labels.items()))), 0.0))


def test_liveness_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_not_ready_when_the_database_does_not_answer(runtime: Runtime, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'db.sqlite'}")
    broken = Runtime(runtime.settings, engine, make_session_factory(engine), runtime.clock)
    with TestClient(create_app(broken)) as client:
        assert client.get("/healthz").status_code == 200  # alive, just not ready
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"] == "the database does not answer (OperationalError)"


def test_not_ready_when_the_scheduler_stops_ticking(runtime: Runtime) -> None:
    with TestClient(create_app(runtime, background=True)) as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        assert services is not None
        assert client.get("/readyz").status_code == 200
        services.sending.heartbeat -= 3600  # as if the jobs had hung for an hour
        response = client.get("/readyz")
        assert response.status_code == 503
        # An hour, plus the time since the last real tick (a busy machine may round it up).
        idle = re.search(r"the scheduler has not ticked for (\d+) s", response.json()["reason"])
        assert idle is not None and 3600 <= int(idle.group(1)) < 3700


def test_metrics_count_sends_failures_and_the_outbox(
    runtime: Runtime, clock: FakeClock, client: TestClient
) -> None:
    plans = {"p0@kommun.example": FaultPlan("550"), "p1@kommun.example": FaultPlan("451")}
    plans["p2@kommun.example"] = FaultPlan("drop")
    sink = SmtpSink(FaultInjectingHandler(plans=plans)).start()
    runtime.settings.smtp_url = sink.url
    make_campaign(runtime, 6)
    clock.set(SLOT + timedelta(minutes=1))
    plan_once(runtime)
    clock.advance(seconds=90)
    before = metrics(client)
    assert value(before, "nanolearn_outbox_depth", status="pending") == 6
    assert value(before, "nanolearn_outbox_due") == 6
    assert value(before, "nanolearn_outbox_oldest_due_age_seconds") == 90
    try:
        assert tick(runtime).sent == 3
    finally:
        sink.stop()
    after = metrics(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("nanolearn_emails_sent_total") == 3
    assert grew("nanolearn_emails_failed_total", reason="5xx") == 1
    assert grew("nanolearn_emails_failed_total", reason="4xx") == 1
    assert grew("nanolearn_emails_failed_total", reason="connection") == 1
    assert grew("nanolearn_smtp_send_seconds_count") == 3
    assert value(after, "nanolearn_outbox_depth", status="pending") == 2  # the two retries
    assert value(after, "nanolearn_outbox_due") == 0  # backing off: not due yet
    assert value(after, "nanolearn_outbox_oldest_due_age_seconds") == 0


def render(record: logging.LogRecord, key: bytes = b"k" * 32) -> dict:
    line = JsonFormatter(Redactor(key)).format(record)
    assert "\n" not in line
    parsed: dict = json.loads(line)
    return parsed


def test_json_lines_hash_addresses_and_drop_tokens() -> None:
    address = "Anna.Svensson@kommun.example"
    record = logging.makeLogRecord(
        {
            "name": "app.test",
            "levelno": logging.WARNING,
            "levelname": "WARNING",
            "msg": "550 <%s>: no such user; link https://x.example/l/AbC_1.dEf-2 and %s",
            "args": (address, "Authorization: Bearer nl_0a1b2c3d_abcdefghijklmnopqrstuvwxyz012"),
            "recipient": address,
            "batch": 3,
        }
    )
    out = render(record)
    assert (out["level"], out["logger"], out["batch"]) == ("warning", "app.test", 3)
    text = json.dumps(out)
    assert "@" not in text and "Svensson" not in text and "AbC_1" not in text
    assert "abcdefghij" not in text
    assert "/l/<token>" in out["msg"]
    tag = out["recipient"]
    assert tag.startswith("<email:") and tag in out["msg"]  # one person, one tag
    assert render(record)["recipient"] == tag  # stable for a key …
    assert render(record, key=b"o" * 32)["recipient"] != tag  # … and useless without it


def test_exceptions_are_redacted_too() -> None:
    try:
        raise ValueError("cannot send to per@kommun.example")
    except ValueError:
        import sys

        record = logging.makeLogRecord(
            {"msg": "failed", "levelname": "ERROR", "exc_info": sys.exc_info()}
        )
    out = render(record)
    assert "ValueError" in out["exc"] and "per@kommun" not in out["exc"]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The JSON handler `serve` and `worker` install, writing into a string."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging(logging.DEBUG)
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_the_dispatcher_logs_json_without_addresses(
    runtime: Runtime, clock: FakeClock, json_log: io.StringIO
) -> None:
    plans = {f"p{i}@kommun.example": FaultPlan("550") for i in range(3)}
    sink = SmtpSink(FaultInjectingHandler(plans=plans, refuse_sender=False)).start()
    runtime.settings.smtp_url = sink.url
    runtime.settings.failure_pause_window = 5
    make_campaign(runtime, 6)
    clock.set(SLOT + timedelta(minutes=1))
    try:
        tick(runtime)  # three refusals: half of the last six, so the campaign pauses
    finally:
        sink.stop()
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert any("paused" in line["msg"] for line in lines)
    assert any("delivery" in line["msg"] and "550" in line["msg"] for line in lines)
    assert "@kommun.example" not in json_log.getvalue()
