"""Forged form posts change nothing: every dashboard POST needs the form's token (bound to the
session, or for the sign-in form to its pre-session cookie) and must not come from another
site. Refusals are a Swedish 403 page. (The real browser: test_browser.py.)"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.auth.models import Role
from app.core.runtime import Runtime
from app.dashboard.auth import COOKIE
from app.dashboard.csrf import PRE_COOKIE
from tests.dashboard.conftest import form_token, new_key, sign_in

REFUSED = "Det gick inte att skicka"


def assert_refused(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 403, response.status_code
    assert REFUSED in response.text and '<html lang="sv">' in response.text
    assert f"{COOKIE}=" not in response.headers.get("set-cookie", "")


def signed_in_elsewhere(client: TestClient, runtime: Runtime) -> TestClient:
    other = TestClient(client.app, follow_redirects=False)
    sign_in(other, new_key(runtime, "Erik"))
    return other


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: {},  # no token
        lambda token: {"csrf_token": ""},
        lambda token: {"csrf_token": token[:-2] + ("AA" if not token.endswith("AA") else "BB")},
        lambda token: {"csrf_token": "x" * 5000},
    ],
    ids=["missing", "empty", "wrong", "long"],
)
def test_sign_in_without_the_right_token_is_refused(
    client: TestClient, dashboard_key: str, forge: Callable[[str], dict[str, str]]
) -> None:
    token = form_token(client)
    response = client.post(
        "/dashboard/login", data={"api_key": dashboard_key, **forge(token)}, follow_redirects=False
    )
    assert_refused(response)
    assert client.get("/dashboard", follow_redirects=False).status_code == 303  # not signed in


def test_a_token_belongs_to_its_own_cookie(client: TestClient, dashboard_key: str) -> None:
    """An attacker's own token (from the form they loaded) does not fit the victim's cookie."""
    with TestClient(client.app) as attacker:
        token = form_token(attacker)
    form_token(client)  # the victim has a pre-session cookie of their own
    response = client.post(
        "/dashboard/login",
        data={"api_key": dashboard_key, "csrf_token": token},
        follow_redirects=False,
    )
    assert_refused(response)


def test_sign_in_without_the_cookie_is_refused(client: TestClient, dashboard_key: str) -> None:
    token = form_token(client)
    client.cookies.clear()  # e.g. the pre-session cookie expired, or the post is cross-site
    data = {"api_key": dashboard_key, "csrf_token": token}
    assert_refused(client.post("/dashboard/login", data=data, follow_redirects=False))


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://testserver.evil.example"},
        {"Referer": "https://evil.example/page"},
    ],
    ids=["origin", "lookalike-origin", "referer"],
)
def test_sign_in_from_another_site_is_refused_even_with_a_token(
    client: TestClient, dashboard_key: str, headers: dict[str, str]
) -> None:
    data = {"api_key": dashboard_key, "csrf_token": form_token(client)}
    response = client.post("/dashboard/login", data=data, headers=headers, follow_redirects=False)
    assert_refused(response)
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "null"},  # what Chromium sends under Referrer-Policy: no-referrer
        {"Origin": "http://testserver"},
        {"Referer": "http://testserver/dashboard/login"},
    ],
    ids=["none", "null", "same-origin", "same-referer"],
)
def test_sign_in_with_the_token_from_our_site_works(
    client: TestClient, dashboard_key: str, headers: dict[str, str]
) -> None:
    data = {"api_key": dashboard_key, "csrf_token": form_token(client)}
    response = client.post("/dashboard/login", data=data, headers=headers, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    assert client.get("/dashboard", follow_redirects=False).status_code == 200


def test_the_pre_session_cookie_is_strict_short_and_ends_at_sign_in(
    client: TestClient, dashboard_key: str
) -> None:
    page = client.get("/dashboard/login")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{PRE_COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/dashboard", "Max-Age=3600"):
        assert attribute in cookie
    assert "set-cookie" not in client.get("/dashboard/login").headers  # kept while it lasts
    data = {"api_key": dashboard_key, "csrf_token": form_token(client)}
    response = client.post("/dashboard/login", data=data, follow_redirects=False)
    assert f'{PRE_COOKIE}=""' in response.headers["set-cookie"]


@pytest.mark.parametrize(
    "forge",
    [
        lambda own, other: {},
        lambda own, other: {"csrf_token": other},  # another session's token
        lambda own, other: {"csrf_token": "AAAA"},
    ],
    ids=["missing", "other-session", "wrong"],
)
def test_sign_out_without_the_sessions_token_is_refused(
    signed_in: TestClient,
    runtime: Runtime,
    forge: Callable[[str, str], dict[str, str]],
) -> None:
    own = form_token(signed_in, "/dashboard")
    other = form_token(signed_in_elsewhere(signed_in, runtime), "/dashboard")
    assert own != other
    response = signed_in.post("/dashboard/logout", data=forge(own, other), follow_redirects=False)
    assert_refused(response)
    assert signed_in.get("/dashboard", follow_redirects=False).status_code == 200  # still in


def test_sign_out_from_another_site_is_refused(signed_in: TestClient) -> None:
    data = {"csrf_token": form_token(signed_in, "/dashboard")}
    headers = {"Origin": "https://evil.example"}
    response = signed_in.post("/dashboard/logout", data=data, headers=headers)
    assert_refused(response)
    assert signed_in.get("/dashboard", follow_redirects=False).status_code == 200


def test_the_sign_in_forms_token_does_not_sign_anyone_out(
    signed_in: TestClient, runtime: Runtime
) -> None:
    """A pre-session token is for the sign-in form only; signed-in forms need the session's."""
    assert isinstance(signed_in.app, FastAPI)
    with TestClient(signed_in.app) as stranger:
        pre = form_token(stranger)
        signed_in.cookies.set(PRE_COOKIE, stranger.cookies[PRE_COOKIE], path="/dashboard")
    response = signed_in.post("/dashboard/logout", data={"csrf_token": pre})
    assert_refused(response)


# Every form that changes something, with fields that would work with the right token.
def _changing_forms(runtime: Runtime, client: TestClient) -> list[tuple[str, dict[str, str]]]:
    from sqlalchemy import select

    from app.auth.models import ApiKey
    from app.campaigns.models import Campaign
    from app.employees.models import Employee
    from tests.dashboard.test_campaign_forms import FORM, post, ready

    ready(client, runtime, Role.admin)
    post(client, "/dashboard/campaigns/new", FORM, "/dashboard/campaigns/new")
    with runtime.session_factory() as session:
        campaign = session.scalars(select(Campaign)).one().id
        person = session.scalars(select(Employee.id)).first()
        prefix = session.scalars(select(ApiKey.prefix)).first()
    token = form_token(client, "/dashboard/staff")
    review = client.post(
        "/dashboard/staff/upload",
        data={"csrf_token": token, "mode": "sync"},
        files={"file": ("p.csv", b"E-post;Namn\nx@kommun.example;X Y\n", "text/csv")},
        follow_redirects=False,
    ).headers["location"]
    fields = {k: v for k, v in FORM.items() if isinstance(v, str)}
    return [
        ("/dashboard/campaigns/new", {**fields, "name": "Förfalskad"}),
        (f"/dashboard/campaigns/{campaign}/edit", {**fields, "name": "Förfalskad"}),
        (f"/dashboard/campaigns/{campaign}/test-send", {"email": "x@kommun.example"}),
        (f"/dashboard/campaigns/{campaign}/status/start", {}),
        (f"/dashboard/campaigns/{campaign}/status/cancel", {}),
        (review, {}),
        (f"/dashboard/staff/{person}/deactivate", {}),
        (f"/dashboard/staff/{person}/erase", {}),
        ("/dashboard/keys", {"name": "Förfalskad", "role": "admin"}),
        (f"/dashboard/keys/{prefix}/revoke", {}),
    ]


def _state(runtime: Runtime) -> list[object]:
    from sqlalchemy import select

    from app.auth.models import ApiKey, AuditEntry
    from app.campaigns.models import Campaign
    from app.employees.models import Employee

    with runtime.session_factory() as session:
        return [
            session.scalars(select(AuditEntry.id)).all(),
            [(c.name, c.status) for c in session.scalars(select(Campaign))],
            [(e.active, e.erased_at) for e in session.scalars(select(Employee))],
            [(k.name, k.revoked_at) for k in session.scalars(select(ApiKey))],
        ]


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: ({}, {}),
        lambda token: ({"csrf_token": token[:-2] + "AA"}, {}),
        lambda token: ({"csrf_token": token}, {"Origin": "https://evil.example"}),
    ],
    ids=["missing", "wrong", "foreign-origin"],
)
def test_every_changing_form_refuses_a_forged_post_and_changes_nothing(
    client: TestClient, runtime: Runtime, smtp_sink: object, forge: Callable[[str], object]
) -> None:
    forms = [("/dashboard/staff/upload", {"mode": "sync"}), *_changing_forms(runtime, client)]
    token = form_token(client, "/dashboard")
    before = _state(runtime)
    for path, fields in forms:
        extra, headers = forge(token)  # type: ignore[misc]
        response = client.post(
            path,
            data={**fields, **extra},
            files={"file": ("p.csv", b"E-post\nx@kommun.example\n")} if "upload" in path else None,
            headers=headers,
            follow_redirects=False,
        )
        assert_refused(response)
    assert _state(runtime) == before
    assert client.get("/dashboard", follow_redirects=False).status_code == 200  # still in
