"""Every admin route needs a key: walk the app's routes so a new route cannot slip through.
(Which role may call which route: tests/security/test_route_roles.py.)"""

import re

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


def test_every_api_route_answers_401_without_a_key(client: TestClient) -> None:
    wrong = []
    for method, path in api_routes():
        response = client.request(method, path)
        if (
            response.status_code != 401
            or not response.headers["content-type"].startswith("application/problem+json")
            or response.headers.get("www-authenticate") != "Bearer"
        ):
            wrong.append(f"{method} {path}: {response.status_code}")
    assert not wrong


def test_every_api_route_answers_401_with_a_wrong_key(client: TestClient) -> None:
    keys = [
        "nl_deadbeef_notarealkey",  # unknown prefix
        "nl_deadbeef",  # no secret part
        "not-even-our-format",
        "nl_" + "a" * 5000,  # long
    ]
    wrong = []
    for number, (method, path) in enumerate(api_routes()):
        # One address per route: together these are more wrong keys than one address may try.
        address = (f"192.0.2.{number % 250}", 50000)
        with TestClient(client.app, client=address) as caller:
            for key in keys:
                headers = {"Authorization": f"Bearer {key}"}
                status = caller.request(method, path, headers=headers).status_code
                if status != 401:
                    wrong.append(f"{method} {path} with {key[:12]}…: {status}")
    assert not wrong


def test_a_key_with_a_known_prefix_and_a_wrong_secret_is_refused(
    client: TestClient, admin_headers: dict
) -> None:
    prefix = admin_headers["Authorization"].split("_")[1]
    forged = {"Authorization": f"Bearer nl_{prefix}_{'x' * 43}"}
    assert client.get("/api/v1/campaigns", headers=forged).status_code == 401
    assert client.get("/api/v1/campaigns", headers=admin_headers).status_code == 200


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
    assert response.headers["content-type"] == "application/problem+json"
    assert "editor" in response.json()["detail"]
