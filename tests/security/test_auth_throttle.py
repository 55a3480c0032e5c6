"""Guessing API keys is slowed down: after too many wrong keys from one client address, that
address gets 429 with Retry-After, in the API (problem+json) and in the dashboard's sign-in form
(a Swedish page), until the window has passed. Other addresses are not affected."""

from __future__ import annotations

import logging
import re
import secrets
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.main import create_app
from tests.a11y.browser import live_server
from tests.dashboard.conftest import form_token, new_key
from tests.delivery.test_observability import metrics, value

GUESSER = ("203.0.113.7", 50000)
COLLEAGUE = ("198.51.100.4", 50000)
GUESSES = 1000
FAILURES = "nanolearn_auth_failures_total"
THROTTLED = "nanolearn_auth_throttled_total"


@pytest.fixture
def app(client: TestClient) -> FastAPI:
    assert isinstance(client.app, FastAPI)
    return client.app


@pytest.fixture
def guesser(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, client=GUESSER, follow_redirects=False) as browser:
        yield browser


def wrong_keys(prefix: str, count: int) -> list[str]:
    """Keys with a real key's public prefix and a made-up secret part."""
    return [f"nl_{prefix}_{secrets.token_urlsafe(32)}" for _ in range(count)]


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything the app logged, as raw as it was handed over (before any redaction)."""
    return "\n".join(
        f"{r.getMessage()} {vars(r)}" for r in caplog.records if r.name.startswith("app.")
    )


def test_a_thousand_wrong_api_keys_are_throttled(
    app: FastAPI,
    client: TestClient,
    guesser: TestClient,
    runtime: Runtime,
    clock: FakeClock,
    admin_headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    limit = runtime.settings.auth_failure_limit
    prefix = admin_headers["Authorization"].split("_")[1]
    keys = wrong_keys(prefix, GUESSES)
    before = metrics(client)
    answers: Counter[int] = Counter()
    with caplog.at_level(logging.INFO):
        for key in keys:
            response = guesser.get("/api/v1/campaigns", headers={"Authorization": f"Bearer {key}"})
            answers[response.status_code] += 1
    assert answers == {401: limit, 429: GUESSES - limit}

    refused = guesser.get("/api/v1/campaigns", headers={"Authorization": f"Bearer {keys[0]}"})
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["title"] == "För många försök"
    wait = int(refused.headers["retry-after"])
    assert 0 < wait <= runtime.settings.auth_failure_window_seconds + 1  # rounded up

    # The guesser's address is refused even with the right key (it is not even looked at)...
    assert guesser.get("/api/v1/campaigns", headers=admin_headers).status_code == 429
    # ...while a colleague at another address works as usual.
    with TestClient(app, client=COLLEAGUE) as colleague:
        assert colleague.get("/api/v1/campaigns", headers=admin_headers).status_code == 200

    after = metrics(client)
    assert value(after, FAILURES, surface="api") - value(before, FAILURES, surface="api") == limit
    throttled = value(after, THROTTLED, surface="api") - value(before, THROTTLED, surface="api")
    assert throttled == GUESSES - limit + 2
    assert not [s for s in after if s[0] == FAILURES and "address" in dict(s[1])]

    # Each failure is logged with the public prefix only: no key, no secret part, no address.
    failures = [r for r in caplog.records if r.getMessage() == "sign-in with a wrong API key"]
    assert len(failures) == limit
    assert {r.__dict__["key_prefix"] for r in failures} == {prefix}
    assert {r.__dict__["surface"] for r in failures} == {"api"}
    text = logged(caplog)
    assert not [k for k in keys if k.split("_", 2)[2] in text]
    assert GUESSER[0] not in text

    # When the wait is over the address may try again.
    clock.advance(timedelta(seconds=wait))
    again = guesser.get("/api/v1/campaigns", headers={"Authorization": f"Bearer {keys[0]}"})
    assert again.status_code == 401


def test_a_thousand_wrong_keys_in_the_sign_in_form_are_throttled(
    app: FastAPI,
    client: TestClient,
    guesser: TestClient,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    limit = runtime.settings.auth_failure_limit
    good = new_key(runtime)
    keys = wrong_keys(good.split("_")[1], GUESSES)
    token = form_token(guesser)
    before = metrics(client)
    answers: Counter[int] = Counter()
    with caplog.at_level(logging.INFO):
        for key in keys:
            response = guesser.post("/dashboard/login", data={"api_key": key, "csrf_token": token})
            answers[response.status_code] += 1
    assert answers == {401: limit, 429: GUESSES - limit}

    refused = guesser.post("/dashboard/login", data={"api_key": good, "csrf_token": token})
    assert refused.status_code == 429 and "nanolearn_dashboard" not in refused.cookies
    assert int(refused.headers["retry-after"]) > 0
    assert re.search(r"För många försök med fel nyckel. Vänta \d+ minuter", refused.text)
    assert 'role="alert"' in refused.text and '<html lang="sv">' in refused.text

    with TestClient(app, client=COLLEAGUE, follow_redirects=False) as colleague:
        data = {"api_key": good, "csrf_token": form_token(colleague)}
        response = colleague.post("/dashboard/login", data=data)
        assert response.status_code == 303 and response.headers["location"] == "/dashboard"
        assert colleague.get("/dashboard").status_code == 200

    after = metrics(client)
    diff = value(after, FAILURES, surface="dashboard") - value(
        before, FAILURES, surface="dashboard"
    )
    assert diff == limit
    assert value(after, FAILURES, surface="api") == value(before, FAILURES, surface="api")
    text = logged(caplog)
    assert not [k for k in keys if k.split("_", 2)[2] in text]
    assert GUESSER[0] not in text and good not in text


def test_both_surfaces_share_one_count_per_address(
    guesser: TestClient, runtime: Runtime, admin_headers: dict[str, str]
) -> None:
    limit = runtime.settings.auth_failure_limit
    prefix = admin_headers["Authorization"].split("_")[1]
    for key in wrong_keys(prefix, limit):
        headers = {"Authorization": f"Bearer {key}"}
        assert guesser.get("/api/v1/campaigns", headers=headers).status_code == 401
    data = {"api_key": wrong_keys(prefix, 1)[0], "csrf_token": form_token(guesser)}
    assert guesser.post("/dashboard/login", data=data).status_code == 429


def test_successful_sign_ins_are_not_counted(
    guesser: TestClient, runtime: Runtime, admin_headers: dict[str, str]
) -> None:
    for _ in range(runtime.settings.auth_failure_limit * 3):
        assert guesser.get("/api/v1/campaigns", headers=admin_headers).status_code == 200
    missing = guesser.get("/api/v1/campaigns")  # no key at all is no guess either
    assert missing.status_code == 401


def test_behind_a_proxy_each_client_counts_on_its_own(
    runtime: Runtime, admin_headers: dict[str, str]
) -> None:
    """Through real uvicorn, which trusts X-Forwarded-For from 127.0.0.1 as `serve` does by
    default (FORWARDED_ALLOW_IPS): the proxy's clients are told apart, not the proxy throttled."""
    limit = runtime.settings.auth_failure_limit
    prefix = admin_headers["Authorization"].split("_")[1]
    with live_server(create_app(runtime)) as base, httpx.Client(base_url=base) as proxy:
        guesser = {"X-Forwarded-For": GUESSER[0]}
        statuses = [
            proxy.get(
                "/api/v1/campaigns", headers={**guesser, "Authorization": f"Bearer {key}"}
            ).status_code
            for key in wrong_keys(prefix, limit + 5)
        ]
        assert statuses == [401] * limit + [429] * 5
        colleague = {"X-Forwarded-For": COLLEAGUE[0], **admin_headers}
        assert proxy.get("/api/v1/campaigns", headers=colleague).status_code == 200
