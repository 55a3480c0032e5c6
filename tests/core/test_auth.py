"""Every admin route needs a key: walk the app's routes so a new route cannot slip through."""

import re

import pytest
from fastapi.testclient import TestClient

from app.main import create_app


def api_routes() -> list[tuple[str, str]]:
    """Every (method, path) under /api, from the OpenAPI schema (which lists every route)."""
    from app.core.runtime import Runtime

    paths = create_app(Runtime.create()).openapi()["paths"]
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path))
        for path, operations in sorted(paths.items())
        if path.startswith("/api/")
        for method in sorted(operations)
    ]


def test_there_are_api_routes_to_check() -> None:
    assert len(api_routes()) >= 15


@pytest.mark.parametrize(("method", "path"), api_routes())
def test_every_api_route_answers_401_without_a_key(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), api_routes())
def test_every_api_route_answers_401_with_a_wrong_key(
    client: TestClient, method: str, path: str
) -> None:
    headers = {"Authorization": "Bearer nl_deadbeef_notarealkey"}
    assert client.request(method, path, headers=headers).status_code == 401


def test_revoked_key_stops_working(client: TestClient, runtime, admin_headers: dict) -> None:  # type: ignore[no-untyped-def]
    from app.auth.service import list_api_keys, revoke_api_key

    assert client.get("/api/v1/campaigns", headers=admin_headers).status_code == 200
    with runtime.session_factory() as session:
        revoke_api_key(session, list_api_keys(session)[0].prefix, runtime.clock.now())
        session.commit()
    assert client.get("/api/v1/campaigns", headers=admin_headers).status_code == 401


def test_reporter_cannot_change_things(client: TestClient, reporter_headers: dict) -> None:
    response = client.post("/api/v1/campaigns", json={}, headers=reporter_headers)
    assert response.status_code == 403
    assert "editor" in response.json()["detail"]
