"""The public pages behind e-mail links: security headers on every page, no redirect anywhere,
and no token in any log line."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from app.tracking.ratelimit import PER_TOKEN
from tests.flow import BROWSER_UA, form_action, mail_links
from tests.security.test_route_roles import PARAMS, ROUTES
from tests.tracking.campaign import ANNA, ERIK, Sent

APP_DIR = Path(__file__).resolve().parents[2] / "app"
EVIL = "https://evil.example/phish"
REDIRECT_PARAMS = {"next": EVIL, "url": EVIL, "redirect": EVIL, "return_to": EVIL, "to": EVIL}


def assert_secure_page(response: Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # no script may run at all
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


def visit_every_public_page(client: TestClient, sent: Sent) -> list[tuple[str, Response, int]]:
    """Every page a person can meet, with the status it should have."""
    browser = {"User-Agent": BROWSER_UA}
    links = mail_links(sent.mail[ANNA])
    assert links.view is not None
    key, options = next(iter(links.answers.items()))
    confirm = client.get(options[0], headers=browser)
    post_url = form_action(confirm.text)
    pages = [
        ("lesson", client.get(links.view, headers=browser), 200),
        ("lesson, one question", client.get(f"{links.view}?lesson={key}", headers=browser), 200),
        ("confirm answer", confirm, 200),
        ("no answer chosen", client.post(post_url, data={}, headers=browser), 422),
        ("answer result", client.post(post_url, data={"option": "0"}, headers=browser), 200),
        ("opt-out question", client.get(links.unsubscribe, headers=browser), 200),
        ("opted out", client.post(links.unsubscribe, headers=browser), 200),
        ("opted out already", client.get(links.unsubscribe, headers=browser), 200),
        ("unknown link", client.get(links.view.replace(".", ".x"), headers=browser), 404),
        ("unknown lesson", client.get(f"{links.view}?lesson=nope", headers=browser), 404),
        ("option out of range", client.get(options[0][:-1] + "9", headers=browser), 404),
        ("HEAD", client.head(links.view, headers=browser), 200),
    ]
    erik = mail_links(sent.mail[ERIK]).unsubscribe
    for _ in range(PER_TOKEN):
        client.get(erik, headers=browser)
    pages.append(("rate limited", client.get(erik, headers=browser), 429))
    return pages


def test_every_public_page_sends_the_security_headers(client: TestClient, sent: Sent) -> None:
    for name, response, status in visit_every_public_page(client, sent):
        try:
            assert_secure_page(response, status)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc


def test_no_public_route_redirects_anywhere(client: TestClient, sent: Sent) -> None:
    links = mail_links(sent.mail[ANNA])
    assert links.view is not None
    option = next(iter(links.answers.values()))[0]
    urls = [links.view, option, links.unsubscribe, links.view + "/", "//evil.example/"]
    for url in urls:
        for method in ("GET", "HEAD", "POST"):
            response = client.request(
                method, url, params=REDIRECT_PARAMS, data=None, follow_redirects=False
            )
            assert not response.is_redirect, f"{method} {url} -> {response.status_code}"
            assert "location" not in response.headers
            assert EVIL not in response.text


def test_no_route_in_the_app_redirects_to_a_foreign_url(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    for method, path in ROUTES:
        url = path
        for name, value in PARAMS.items():
            url = url.replace("{" + name + "}", value)
        response = client.request(
            method, url, params=REDIRECT_PARAMS, headers=admin_headers, follow_redirects=False
        )
        location = response.headers.get("location", "")
        # The only redirects are the dashboard's, to its own fixed pages.
        assert not location or (location.startswith("/") and not location.startswith("//")), (
            f"{method} {path} redirects to {location}"
        )


def test_no_log_line_carries_a_token(
    client: TestClient, sent: Sent, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = {mail_links(message).unsubscribe.rsplit("/", 1)[1] for message in sent.mail.values()}
    with caplog.at_level(logging.DEBUG):
        visit_every_public_page(client, sent)
    server_records = [r for r in caplog.records if not r.name.startswith("httpx")]
    for record in server_records:
        line = caplog.handler.format(record)
        assert not any(token in line for token in tokens), line


def _logs_a_request_path(call: ast.Call) -> bool:
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in _LOG_METHODS):
        return False
    receiver = ast.unparse(func.value).lower()
    if "log" not in receiver:
        return False
    arguments = " ".join(ast.unparse(a) for a in [*call.args, *[k.value for k in call.keywords]])
    return any(part in arguments for part in _PATH_SOURCES)


_LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
_PATH_SOURCES = ("request.url", "url.path", "['path']", '["path"]', "raw_path", "request.path")


def test_no_logging_call_in_the_code_logs_a_request_path() -> None:
    offenders = []
    for path in sorted(APP_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _logs_a_request_path(node):
                offenders.append(f"{path.relative_to(APP_DIR.parent)}:{node.lineno}")
    assert not offenders, f"these log calls log request paths (which carry tokens): {offenders}"


def test_the_server_runs_without_an_access_log() -> None:
    # uvicorn's access log would print every path, tokens included.
    tree = ast.parse((APP_DIR / "cli" / "__init__.py").read_text(encoding="utf-8"))
    runs = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "uvicorn.run"
    ]
    assert runs, "serve starts uvicorn"
    for run in runs:
        options = {k.arg: ast.unparse(k.value) for k in run.keywords}
        assert options.get("access_log") == "False"
