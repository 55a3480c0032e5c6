"""One error shape everywhere (RFC 9457 problem+json), and nothing internal in it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.core.deps import SessionDep

ADDRESS = "anna.lind@kommun.example"
LEAKS = ("Traceback", "SELECT", "sqlalchemy", "no_such_table", 'File "', ADDRESS)


def server_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the app logged (the test client's own httpx log names the URLs it requested)."""
    return "\n".join(
        caplog.handler.format(r) for r in caplog.records if not r.name.startswith("httpx")
    )


def assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert isinstance(body["title"], str) and body["title"]
    for leak in LEAKS:
        assert leak not in response.text
    return body


@pytest.fixture
def app(client: TestClient) -> FastAPI:
    assert isinstance(client.app, FastAPI)
    return client.app


@pytest.fixture
def failing_routes(app: FastAPI) -> Iterator[None]:
    """Test-only routes that fail the way bugs do: bad SQL on the real database, and an
    exception whose message holds a token."""

    def bad_sql(session: SessionDep) -> None:
        session.execute(text(f"SELECT * FROM no_such_table WHERE email = '{ADDRESS}'"))

    def public_bug(token: str) -> None:
        raise RuntimeError(f"bug while serving {token}")

    app.add_api_route("/api/v1/test-only/bad-sql", bad_sql, methods=["GET"])
    app.add_api_route("/l/{token}/test-only-bug", public_bug, methods=["GET"])
    yield


def test_unknown_paths_are_404_problems_not_redirects(client: TestClient) -> None:
    for path in (
        "/api/v1/no-such-thing",
        "/api/v2/campaigns",
        "/nothing-here",
        "/api/v1/campaigns/",
    ):
        assert_problem(client.get(path, follow_redirects=False), 404)


def test_wrong_method_is_a_405_problem_with_allow(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = client.delete("/api/v1/campaigns", headers=admin_headers)
    body = assert_problem(response, 405)
    assert body["title"] == "Metoden finns inte här"
    assert "POST" in response.headers["allow"]
    assert_problem(client.put("/l/AAAA.BBBB"), 405)


def test_a_declared_oversize_body_is_a_413_problem_before_it_is_read(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    huge = b"x" * (21 * 1024 * 1024 + 1)
    response = client.post(
        "/api/v1/campaigns",
        content=huge,
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 413)
    # A public form takes one small field.
    form = client.post("/a/AAAA.BBBB/rad-01", data={"option": "0" * 20_000})
    assert assert_problem(form, 413)["title"] == "För stor begäran"


def test_a_streamed_oversize_body_is_a_413_problem(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"option=" + b"1" * 1000 + b"&"

    response = client.post(
        "/a/AAAA.BBBB/rad-01",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_problem(response, 413)


def test_invalid_input_is_a_422_problem_with_the_fields(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = client.post("/api/v1/campaigns", json={"name": 3}, headers=admin_headers)
    body = assert_problem(response, 422)
    assert {e["field"] for e in body["errors"]} >= {"name", "course", "schedule"}
    broken = client.post(
        "/api/v1/campaigns",
        content=b'{"name": ',
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert_problem(broken, 422)


def test_a_number_the_database_cannot_hold_is_a_client_error(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    # SQLite overflows beyond 64 bits, PostgreSQL beyond 32: a client error either way.
    for path in (
        "/api/v1/campaigns/99999999999999999999999",
        "/api/v1/campaigns/3000000000/learning",
        "/api/v1/reports/completion?campaign=99999999999999999999999&format=json",
    ):
        response = client.get(path, headers=admin_headers)
        assert response.status_code in (404, 422), (path, response.text)
        assert_problem(response, response.status_code)


@pytest.mark.usefixtures("failing_routes")
def test_an_unhandled_database_error_is_a_500_problem_without_sql(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        response = client.get("/api/v1/test-only/bad-sql")
    body = assert_problem(response, 500)
    assert body["title"] == "Internt fel"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, "logged once"
    logged = errors[0].getMessage()
    assert "GET /api/v1/test-only/bad-sql" in logged
    assert "OperationalError" in logged or "ProgrammingError" in logged  # SQLite / PostgreSQL
    assert ADDRESS not in server_log(caplog) and "no_such_table" not in server_log(caplog)
    # The session was rolled back: the next request works.
    assert client.get("/healthz").status_code == 200


@pytest.mark.usefixtures("failing_routes")
def test_a_bug_on_a_public_page_logs_the_route_not_the_token(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = "SECRETTOKEN.abcdefgh"
    with caplog.at_level(logging.DEBUG):
        response = client.get(f"/l/{token}/test-only-bug")
    assert_problem(response, 500)
    logged = server_log(caplog)
    assert "RuntimeError" in logged and "/l/{token}/test-only-bug" in logged
    assert "SECRETTOKEN" not in logged
