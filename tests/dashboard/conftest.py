"""A signed-in dashboard: an API key made as `nanolearn apikey create` would, typed into the form."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from app.auth.models import Role
from app.auth.service import create_api_key
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from tests.dashboard.played import play
from tests.smtp_server import SmtpSink


def new_key(
    runtime: Runtime, name: str = "Anna Lind, projektledare", role: Role = Role.reporter
) -> str:
    with runtime.session_factory() as session:
        _, plain = create_api_key(session, name, role, runtime.clock.now())
        session.commit()
    return plain


def form_token(client: TestClient, page: str = "/dashboard/login") -> str:
    """The CSRF token of the first form on a page, as a browser would send it."""
    response = client.get(page, follow_redirects=False)
    assert response.status_code == 200, response.status_code
    found = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', response.text)
    assert found, f"no form token on {page}"
    return found.group(1)


def post_login(client: TestClient, key: str) -> Response:
    """The sign-in form filled in and sent: the page first (for its token), then the POST."""
    data = {"api_key": key, "csrf_token": form_token(client)}
    return client.post("/dashboard/login", data=data, follow_redirects=False)


def sign_in(client: TestClient, key: str) -> None:
    response = post_login(client, key)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/dashboard"


@pytest.fixture
def dashboard_key(runtime: Runtime) -> str:
    return new_key(runtime)


@pytest.fixture
def signed_in(client: TestClient, dashboard_key: str) -> TestClient:
    sign_in(client, dashboard_key)
    return client


@pytest.fixture
def played(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> int:
    """Four rounds: enough for the flags (eleven first answers each) and the first reviews."""
    campaign_id = play(client, runtime, clock, smtp_sink, editor_headers, slots=4)
    sign_in(client, new_key(runtime))
    return campaign_id
