"""Test-send to addresses beyond ASCII, through a real relay with and without SMTPUTF8."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.core.runtime import Runtime
from tests.campaigns.test_campaign_api import BODY
from tests.flow import sync_lessons
from tests.smtp_server import SmtpSink


@pytest.fixture
def relay_without_smtputf8(runtime: Runtime) -> Iterator[SmtpSink]:
    sink = SmtpSink(enable_SMTPUTF8=False).start()
    runtime.settings.smtp_url = sink.url
    yield sink
    sink.stop()


def test_send(client: TestClient, runtime: Runtime, headers: dict[str, str], to: str) -> object:
    sync_lessons(runtime)
    campaign = client.post("/api/v1/campaigns", json=BODY, headers=headers).json()
    url = f"/api/v1/campaigns/{campaign['id']}/test-send"
    return client.post(url, json={"email": to}, headers=headers)


test_send.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.mark.parametrize(
    ("typed", "envelope"),
    [
        ("anna@kommunö.se", "anna@xn--kommun-1xa.se"),
        ("anna@xn--kommun-1xa.se", "anna@xn--kommun-1xa.se"),
        ("åsa@kommun.example", "åsa@kommun.example"),
    ],
)
def test_test_send_to_idn_and_non_ascii_addresses(
    client: TestClient,
    runtime: Runtime,
    editor_headers: dict[str, str],
    smtp_sink: SmtpSink,
    typed: str,
    envelope: str,
) -> None:
    response = test_send(client, runtime, editor_headers, typed)
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    (received,) = smtp_sink.received
    assert received.rcpt_tos == [envelope]
    assert received.smtputf8 == (not envelope.isascii())
    assert received.message["To"].addresses[0].addr_spec == envelope


def test_test_send_without_smtputf8_names_the_reason(
    client: TestClient,
    runtime: Runtime,
    editor_headers: dict[str, str],
    relay_without_smtputf8: SmtpSink,
) -> None:
    response = test_send(client, runtime, editor_headers, "åsa@kommun.example")
    assert response.status_code == 502  # type: ignore[attr-defined]
    detail = response.json()["detail"]  # type: ignore[attr-defined]
    assert "SMTPUTF8" in detail and "tecken före @" in detail
    assert not relay_without_smtputf8.received
    # An IDN domain needs nothing from the relay: it goes out in ASCII form.
    response = test_send(client, runtime, editor_headers, "anna@kommunö.se")
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    (received,) = relay_without_smtputf8.received
    assert received.rcpt_tos == ["anna@xn--kommun-1xa.se"] and not received.smtputf8
