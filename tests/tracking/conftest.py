"""Fixtures of the tracking tests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from tests.smtp_server import SmtpSink
from tests.tracking.campaign import Sent, send_first_lesson


@pytest.fixture
def sent(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> Sent:
    """The first lesson sent to Anna and Erik, half an hour ago (past the scanner window)."""
    mail = send_first_lesson(runtime, client, clock, smtp_sink, editor_headers)
    clock.advance(minutes=30)
    return mail
