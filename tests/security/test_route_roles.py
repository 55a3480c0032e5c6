"""Every route in the app, and who may call it. A route missing from ROUTES fails, so does a
listed route that no longer exists, and so does a route whose dependencies or live answers
disagree with the table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from app.auth.models import Role
from app.auth.service import create_api_key
from app.core.runtime import Runtime
from app.dashboard.auth import current_user
from app.dashboard.csrf import SAFE_METHODS, protect
from tests.dashboard.conftest import form_token, post_login

ADMIN, EDITOR, REPORTER = Role.admin, Role.editor, Role.reporter
ALL_ROLES = frozenset({ADMIN, EDITOR, REPORTER})  # every role but provisioning
PROVISIONING = frozenset({Role.provisioning})  # /scim/v2 and nothing else
EDITORS = frozenset({ADMIN, EDITOR})
ADMINS = frozenset({ADMIN})
PUBLIC = "public"  # no key: e-mail links (signed tokens), health, docs, dev inbox
DASHBOARD = "dashboard"  # any key's role, signed in once with a session cookie
SIGN_IN = "sign-in"  # the dashboard's sign-in and sign-out: open, a wrong key gets 401
# Dashboard pages that change something: signed in, and the key's role must be one of these.
DASH_EDITORS = ("dashboard", EDITORS)
DASH_ADMINS = ("dashboard", ADMINS)

Access = frozenset[Role] | str | tuple[str, frozenset[Role]]

ROUTES: dict[tuple[str, str], Access] = {
    # API documentation
    ("GET", "/openapi.json"): PUBLIC,
    ("HEAD", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("HEAD", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("HEAD", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("HEAD", "/redoc"): PUBLIC,
    # Employees
    ("POST", "/api/v1/employees/import"): EDITORS,
    ("GET", "/api/v1/employees"): ALL_ROLES,
    ("GET", "/api/v1/employees/undeliverable"): EDITORS,
    ("GET", "/api/v1/employees/{employee_id}"): ALL_ROLES,
    ("PATCH", "/api/v1/employees/{employee_id}"): EDITORS,
    ("GET", "/api/v1/employees/{employee_id}/export"): ADMINS,
    ("DELETE", "/api/v1/employees/{employee_id}"): ADMINS,
    # Courses
    ("GET", "/api/v1/courses"): ALL_ROLES,
    ("GET", "/api/v1/courses/{slug}"): ALL_ROLES,
    ("GET", "/api/v1/courses/template.xlsx"): ALL_ROLES,
    ("GET", "/api/v1/courses/{slug}/export"): ALL_ROLES,
    ("GET", "/api/v1/courses/{slug}/lessons/{lesson_key}/preview"): ALL_ROLES,
    ("POST", "/api/v1/courses/import"): EDITORS,
    # Campaigns
    ("POST", "/api/v1/campaigns"): EDITORS,
    ("GET", "/api/v1/campaigns"): ALL_ROLES,
    ("GET", "/api/v1/campaigns/{campaign_id}"): ALL_ROLES,
    ("PATCH", "/api/v1/campaigns/{campaign_id}"): EDITORS,
    ("POST", "/api/v1/campaigns/{campaign_id}/start"): EDITORS,
    ("POST", "/api/v1/campaigns/{campaign_id}/pause"): EDITORS,
    ("POST", "/api/v1/campaigns/{campaign_id}/resume"): EDITORS,
    ("POST", "/api/v1/campaigns/{campaign_id}/cancel"): EDITORS,
    ("GET", "/api/v1/campaigns/{campaign_id}/preview"): ALL_ROLES,
    ("GET", "/api/v1/campaigns/{campaign_id}/forecast"): ALL_ROLES,
    ("POST", "/api/v1/campaigns/{campaign_id}/test-send"): EDITORS,
    ("GET", "/api/v1/campaigns/{campaign_id}/learning"): ALL_ROLES,
    # Reports
    ("GET", "/api/v1/reports/xapi"): ALL_ROLES,
    ("GET", "/api/v1/reports/completion"): ALL_ROLES,
    # API keys and the audit log
    ("GET", "/api/v1/api-keys"): ADMINS,
    ("POST", "/api/v1/api-keys"): ADMINS,
    ("DELETE", "/api/v1/api-keys/{prefix}"): ADMINS,
    ("GET", "/api/v1/audit"): ADMINS,
    # Public pages behind e-mail links
    ("GET", "/l/{token}"): PUBLIC,
    ("HEAD", "/l/{token}"): PUBLIC,
    ("GET", "/a/{token}/{lesson_key}/{option}"): PUBLIC,
    ("HEAD", "/a/{token}/{lesson_key}/{option}"): PUBLIC,
    ("POST", "/a/{token}/{lesson_key}"): PUBLIC,
    ("GET", "/u/{token}"): PUBLIC,
    ("HEAD", "/u/{token}"): PUBLIC,
    ("POST", "/u/{token}"): PUBLIC,
    # Dashboard
    ("GET", "/dashboard/login"): PUBLIC,
    ("POST", "/dashboard/login"): SIGN_IN,
    ("POST", "/dashboard/logout"): SIGN_IN,
    ("GET", "/dashboard/login/sso"): PUBLIC,  # off (404) unless OIDC_ISSUER is set
    ("GET", "/dashboard/login/sso/callback"): PUBLIC,
    ("GET", "/dashboard"): DASHBOARD,
    ("GET", "/dashboard/campaigns/{campaign_id}"): DASHBOARD,
    ("GET", "/dashboard/campaigns/{campaign_id}/download/completion.{fmt}"): DASHBOARD,
    ("GET", "/dashboard/campaigns/{campaign_id}/download/learning.json"): DASHBOARD,
    ("GET", "/dashboard/campaigns/new"): DASH_EDITORS,
    ("POST", "/dashboard/campaigns/new"): DASH_EDITORS,
    ("GET", "/dashboard/campaigns/{campaign_id}/edit"): DASH_EDITORS,
    ("POST", "/dashboard/campaigns/{campaign_id}/edit"): DASH_EDITORS,
    ("GET", "/dashboard/campaigns/{campaign_id}/plan"): DASHBOARD,
    ("GET", "/dashboard/campaigns/{campaign_id}/preview"): DASHBOARD,
    ("POST", "/dashboard/campaigns/{campaign_id}/test-send"): DASH_EDITORS,
    ("GET", "/dashboard/campaigns/{campaign_id}/status/{action}"): DASH_EDITORS,
    ("POST", "/dashboard/campaigns/{campaign_id}/status/{action}"): DASH_EDITORS,
    ("GET", "/dashboard/staff"): DASHBOARD,
    ("POST", "/dashboard/staff/upload"): DASH_EDITORS,
    ("GET", "/dashboard/staff/import/{token}"): DASH_EDITORS,
    ("POST", "/dashboard/staff/import/{token}"): DASH_EDITORS,
    ("GET", "/dashboard/staff/{employee_id}"): DASHBOARD,
    ("POST", "/dashboard/staff/{employee_id}/deactivate"): DASH_EDITORS,
    ("GET", "/dashboard/staff/{employee_id}/export.json"): DASH_ADMINS,
    ("GET", "/dashboard/staff/{employee_id}/erase"): DASH_ADMINS,
    ("POST", "/dashboard/staff/{employee_id}/erase"): DASH_ADMINS,
    ("GET", "/dashboard/courses"): DASHBOARD,
    ("GET", "/dashboard/courses/{slug}"): DASHBOARD,
    ("GET", "/dashboard/courses/{slug}/lessons/{lesson_key}/email"): DASHBOARD,
    ("GET", "/dashboard/courses/{slug}/lessons/{lesson_key}/page"): DASHBOARD,
    ("GET", "/dashboard/keys"): DASH_ADMINS,
    ("POST", "/dashboard/keys"): DASH_ADMINS,
    ("GET", "/dashboard/keys/{prefix}/revoke"): DASH_ADMINS,
    ("POST", "/dashboard/keys/{prefix}/revoke"): DASH_ADMINS,
    ("GET", "/dashboard/audit"): DASH_ADMINS,
    # SCIM 2.0 for the identity provider's provisioning service
    ("GET", "/scim/v2/ServiceProviderConfig"): PROVISIONING,
    ("GET", "/scim/v2/ResourceTypes"): PROVISIONING,
    ("GET", "/scim/v2/ResourceTypes/{name}"): PROVISIONING,
    ("GET", "/scim/v2/Schemas"): PROVISIONING,
    ("GET", "/scim/v2/Schemas/{schema_id}"): PROVISIONING,
    ("POST", "/scim/v2/Users"): PROVISIONING,
    ("GET", "/scim/v2/Users"): PROVISIONING,
    ("POST", "/scim/v2/Users/.search"): PROVISIONING,
    ("POST", "/scim/v2/.search"): PROVISIONING,
    ("GET", "/scim/v2/Users/{user_id}"): PROVISIONING,
    ("PUT", "/scim/v2/Users/{user_id}"): PROVISIONING,
    ("PATCH", "/scim/v2/Users/{user_id}"): PROVISIONING,
    ("DELETE", "/scim/v2/Users/{user_id}"): PROVISIONING,
    ("GET", "/scim/v2/{rest:path}"): PROVISIONING,
    ("POST", "/scim/v2/{rest:path}"): PROVISIONING,
    ("PUT", "/scim/v2/{rest:path}"): PROVISIONING,
    ("PATCH", "/scim/v2/{rest:path}"): PROVISIONING,
    ("DELETE", "/scim/v2/{rest:path}"): PROVISIONING,
    # Development inbox (exists only with the built-in mail catcher), health, metrics
    ("GET", "/dev/inbox"): PUBLIC,
    ("GET", "/dev/inbox/{key}"): PUBLIC,
    ("GET", "/dev/inbox/{key}/raw"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
}

# A value for each path parameter that names nothing: allowed callers get 404 or 422.
PARAMS = {
    "employee_id": "999999",
    "campaign_id": "999999",
    "slug": "no-such-course",
    "prefix": "00000000",
    "token": "AAAA.BBBB",
    "lesson_key": "rad-01",
    "option": "0",
    "key": "no-such-message",
    "fmt": "csv",
    "action": "pause",
    "user_id": "999999",
    "name": "Group",
    "schema_id": "urn:example:no-such-schema",
    "rest:path": "Groups",
}


def declared_access(dependant: Any) -> Access:
    """What the route's dependencies require: the roles of require_role, the dashboard's
    session, or nothing."""
    found: list[Access] = []

    def walk(node: Any) -> None:
        for sub in getattr(node, "dependencies", []):
            roles = getattr(sub.call, "allowed_roles", None)
            dashboard_roles = getattr(sub.call, "dashboard_roles", None)
            if dashboard_roles is not None:
                found.append(("dashboard", frozenset(dashboard_roles)))
                continue  # its own session check (current_user) is part of it
            if roles is not None:
                found.append(frozenset(roles))
            elif sub.call is current_user:
                found.append(DASHBOARD)
            walk(sub)

    walk(dependant)
    assert len(set(found)) <= 1, f"conflicting access rules: {found}"
    return found[0] if found else PUBLIC


def table_access(method: str, path: str) -> Access:
    access = ROUTES[(method, path)]
    return PUBLIC if access == SIGN_IN else access


def app_routes(app: FastAPI) -> Iterator[tuple[str, str, Access]]:
    for context in iter_route_contexts(app.routes):
        if not context.methods:
            continue  # the /static mount: files only
        access = declared_access(getattr(context.original_route, "dependant", None))
        for method in sorted(context.methods):
            yield method, str(context.path), access
    # The public links are served by a lane of their own, past FastAPI's router (lane.py).
    for route in app.state.public_routes:
        for method in sorted(route.methods or ()):
            yield method, re.sub(r":\w+}", "}", route.path), declared_access(None)


@pytest.fixture
def app(client: TestClient) -> FastAPI:
    assert isinstance(client.app, FastAPI)
    return client.app


def test_every_route_is_in_the_table_and_every_listed_route_exists(app: FastAPI) -> None:
    actual = {(method, path) for method, path, _ in app_routes(app)}
    unlisted = sorted(actual - ROUTES.keys())
    gone = sorted(ROUTES.keys() - actual)
    assert not unlisted, f"routes missing from ROUTES (say who may call them): {unlisted}"
    assert not gone, f"ROUTES lists routes that do not exist: {gone}"


def test_every_route_is_in_the_openapi_schema_or_deliberately_hidden(app: FastAPI) -> None:
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert documented <= ROUTES.keys()
    api = {key for key in ROUTES if key[1].startswith("/api/")}
    assert api <= documented, "every admin API route is documented"


def test_the_dependencies_require_what_the_table_says(app: FastAPI) -> None:
    wrong = [
        (method, path, access, table_access(method, path))
        for method, path, access in app_routes(app)
        if (method, path) in ROUTES and table_access(method, path) != access
    ]
    assert not wrong, f"(method, path, declared, table): {wrong}"


def _url(path: str) -> str:
    for name, value in PARAMS.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"add a value for the parameter in {path} to PARAMS"
    return path


def _keys(runtime: Runtime) -> dict[Role, str]:
    keys = {}
    with runtime.session_factory() as session:
        for role in Role:
            _, keys[role] = create_api_key(session, f"roles {role}", role, runtime.clock.now())
        session.commit()
    return keys


def _signed_in(app: FastAPI, key: str) -> TestClient:
    browser = TestClient(app, follow_redirects=False)
    assert post_login(browser, key).status_code == 303
    return browser


def _form(browser: TestClient, method: str) -> dict[str, str] | None:
    """What a dashboard form sends besides its fields: the token from a page (csrf.py)."""
    return None if method in SAFE_METHODS else {"csrf_token": form_token(browser, "/dashboard")}


def test_each_role_gets_past_auth_exactly_where_the_table_allows(
    app: FastAPI, client: TestClient, runtime: Runtime
) -> None:
    keys = _keys(runtime)
    browsers = {role: _signed_in(app, keys[role]) for role in ALL_ROLES}
    # A provisioning key cannot sign in to the dashboard at all.
    assert post_login(TestClient(app), keys[Role.provisioning]).status_code == 403
    failures = []
    for (method, path), access in sorted(ROUTES.items()):
        url = _url(path)
        for role, key in keys.items():
            dashboard_route = access == DASHBOARD or isinstance(access, tuple)
            if dashboard_route and role not in browsers:
                continue  # never signed in: see above
            if dashboard_route:
                browser = browsers[role]
                status = browser.request(method, url, data=_form(browser, method)).status_code
                location = ""
            else:
                headers = {"Authorization": f"Bearer {key}"}
                response = client.request(method, url, headers=headers, follow_redirects=False)
                status, location = response.status_code, response.headers.get("location", "")
            if isinstance(access, tuple):
                allowed = role in access[1]
            else:
                allowed = access in (PUBLIC, DASHBOARD, SIGN_IN) or role in access
            if access == SIGN_IN:
                continue  # answers a key in its form, not in the header
            if allowed and (status in (401, 403) or status >= 500 or "login" in location):
                failures.append(f"{role} {method} {path}: {status}, expected to get past auth")
            if not allowed and status != 403:
                failures.append(f"{role} {method} {path}: {status}, expected 403")
    assert not failures, "\n".join(failures)


def test_without_a_key_only_public_routes_answer(client: TestClient) -> None:
    failures = []
    for (method, path), access in sorted(ROUTES.items()):
        response = client.request(method, _url(path), follow_redirects=False)
        if access == PUBLIC:
            ok = response.status_code not in (401, 403) and response.status_code < 500
        elif (access == DASHBOARD or isinstance(access, tuple)) and method not in SAFE_METHODS:
            ok = response.status_code == 403  # no session, so no form token: refused first
        elif access == DASHBOARD or isinstance(access, tuple):
            ok = response.status_code == 303 and response.headers["location"] == "/dashboard/login"
        else:
            ok = response.status_code == 401
        if access == SIGN_IN:
            ok = response.status_code < 500
        if not ok:
            failures.append(f"{method} {path}: {response.status_code}")
    assert not failures, "\n".join(failures)


def _dashboard_dependencies(dependant: Any) -> Iterator[Any]:
    for sub in getattr(dependant, "dependencies", []):
        yield sub.call
        yield from _dashboard_dependencies(sub)


def test_every_dashboard_route_that_can_change_something_checks_the_form_token(
    app: FastAPI, client: TestClient
) -> None:
    """One mechanism for every dashboard form: the `protect` dependency (app/dashboard/csrf.py);
    without its token a POST changes nothing and gets the Swedish 403 page."""
    unsafe = [
        (method, str(context.path), context.original_route)
        for context in iter_route_contexts(app.routes)
        if str(context.path).startswith("/dashboard")
        for method in sorted(context.methods or ())
        if method not in SAFE_METHODS
    ]
    assert {(m, p) for m, p, _ in unsafe} >= {
        ("POST", "/dashboard/login"),
        ("POST", "/dashboard/logout"),
    }
    for method, path, route in unsafe:
        assert protect in _dashboard_dependencies(route.dependant), f"{method} {path}"
        response = client.request(method, _url(path), follow_redirects=False)
        assert response.status_code == 403, f"{method} {path}: {response.status_code}"
        assert "Det gick inte att skicka" in response.text
