"""Signing in to the dashboard: the key is checked once, then a signed cookie carries the session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.auth.service import list_api_keys, revoke_api_key
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.dashboard.auth import COOKIE
from app.dashboard.router import router
from app.main import create_app
from tests.dashboard.conftest import form_token, new_key, post_login, sign_in

SECURITY = {
    "content-security-policy": "default-src 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}
OPEN = {"/dashboard/login", "/dashboard/logout"}


def dashboard_routes() -> list[tuple[str, str]]:
    """Every dashboard page and download, from the router, so a new one cannot slip through."""
    return [
        (method, route.path.replace("{campaign_id}", "1").replace("{fmt}", "csv"))
        for route in router.routes
        if isinstance(route, APIRoute) and route.path not in OPEN
        for method in sorted(route.methods)
    ]


def assert_secure_headers(response) -> None:  # type: ignore[no-untyped-def]
    for name, value in SECURITY.items():
        assert value in response.headers.get(name, ""), name


def test_there_are_dashboard_routes_to_check() -> None:
    assert len(dashboard_routes()) >= 4


@pytest.mark.parametrize(("method", "path"), dashboard_routes())
def test_without_a_session_every_page_sends_you_to_the_login(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(method, path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login"  # relative, and nowhere else
    assert_secure_headers(response)


def test_login_page_is_a_plain_form(client: TestClient) -> None:
    page = client.get("/dashboard/login")
    assert page.status_code == 200
    assert_secure_headers(page)
    assert '<form method="post" action="/dashboard/login"' in page.text
    assert '<label for="api-key">API-nyckel</label>' in page.text
    assert 'type="password"' in page.text


def test_a_wrong_key_is_refused_in_words(client: TestClient, dashboard_key: str) -> None:
    wrong = dashboard_key[:-4] + "AAAA"
    for attempt in (wrong, "", "nl_x", "inte en nyckel"):
        response = post_login(client, attempt)
        assert response.status_code == 401
        assert "Nyckeln fungerar inte" in response.text and 'role="alert"' in response.text
        assert 'aria-invalid="true"' in response.text
        assert "set-cookie" not in response.headers
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_the_cookie_is_signed_http_only_strict_and_holds_no_key(
    client: TestClient, dashboard_key: str
) -> None:
    response = post_login(client, f"  {dashboard_key}\n")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/dashboard", "Max-Age=28800"):
        assert attribute in cookie
    assert "Secure" not in cookie  # BASE_URL is http in the tests
    # The secret is everything after "nl_<prefix>_" (it may itself hold "_").
    assert dashboard_key not in cookie and dashboard_key.split("_", 2)[2] not in cookie
    assert client.get("/dashboard").status_code == 200


def test_the_cookie_is_secure_when_the_site_is_https(runtime: Runtime, dashboard_key: str) -> None:
    https = runtime.settings.model_copy(update={"base_url": "https://nanolearn.kommun.example"})
    app = create_app(Runtime(https, runtime.engine, runtime.session_factory, runtime.clock))
    with TestClient(app, base_url="https://testserver") as client:
        response = post_login(client, dashboard_key)
        assert "Secure" in response.headers["set-cookie"]
        assert client.get("/dashboard").status_code == 200


@pytest.mark.parametrize(
    "forge",
    [
        lambda v: v[:-2] + ("AA" if not v.endswith("AA") else "BB"),  # another MAC
        lambda v: str(int(v.split(".")[0]) + 1) + v[v.index(".") :],  # another key's id
        lambda v: v.split(".")[0] + "." + str(int(v.split(".")[1]) + 3600) + v[v.rindex(".") :],
        lambda v: "garbage",
    ],
    ids=["mac", "key-id", "expiry", "garbage"],
)
def test_a_tampered_cookie_is_no_session(runtime: Runtime, client: TestClient, forge) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, new_key(runtime, "Anna"))
    new_key(runtime, "Erik")  # a second key, whose id a forger might try
    value = client.cookies[COOKIE]
    client.cookies.clear()  # replace, not add: httpx2's jar keeps the server's cookie beside it
    client.cookies.set(COOKIE, forge(value), path="/dashboard")
    response = client.get("/dashboard", follow_redirects=False)
    assert response.headers["location"] == "/dashboard/login"
    assert f'{COOKIE}=""' in response.headers["set-cookie"]  # the bad cookie is removed


def test_a_session_ends_after_eight_hours(signed_in: TestClient, clock: FakeClock) -> None:
    clock.advance(timedelta(hours=7, minutes=59))
    assert signed_in.get("/dashboard", follow_redirects=False).status_code == 200
    clock.advance(timedelta(minutes=1))
    assert signed_in.get("/dashboard", follow_redirects=False).status_code == 303


def test_revoking_the_key_ends_its_sessions(signed_in: TestClient, runtime: Runtime) -> None:
    assert signed_in.get("/dashboard", follow_redirects=False).status_code == 200
    with runtime.session_factory() as session:
        revoke_api_key(session, list_api_keys(session)[0].prefix, runtime.clock.now())
        session.commit()
    response = signed_in.get("/dashboard", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/login"
    login = signed_in.get("/dashboard/login")
    assert login.status_code == 200 and "Logga in" in login.text


def test_sign_out(signed_in: TestClient) -> None:
    page = signed_in.get("/dashboard")
    assert 'action="/dashboard/logout"' in page.text and "Logga ut" in page.text
    token = form_token(signed_in, "/dashboard")
    response = signed_in.post(
        "/dashboard/logout", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/login"
    assert f'{COOKIE}=""' in response.headers["set-cookie"]
    assert signed_in.get("/dashboard", follow_redirects=False).status_code == 303


def test_the_login_page_sends_a_signed_in_user_on(signed_in: TestClient) -> None:
    response = signed_in.get("/dashboard/login", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"


def test_the_dashboard_is_not_in_the_api_documentation(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/dashboard")]
