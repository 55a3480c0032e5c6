"""Admins: API keys (shown once, revoke ends it) and the audit log with filters. Everyone: the
courses, each lesson as e-mail and as the lesson page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.auth.models import Role
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from tests.dashboard.conftest import form_token, new_key, post_login, sign_in
from tests.flow import sync_lessons


def test_a_key_is_shown_once_works_and_revoking_ends_it(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, new_key(runtime, "Admin", Role.admin))
    token = form_token(client, "/dashboard/keys")
    empty = client.post("/dashboard/keys", data={"csrf_token": token, "name": "", "role": "x"})
    assert empty.status_code == 422 and 'id="name-error"' in empty.text
    made = client.post(
        "/dashboard/keys", data={"csrf_token": token, "name": "Rut", "role": "reporter"}
    )
    plain = re.search(r'id="new-key"[^>]*value="(nl_[^"]+)"', made.text)
    assert plain and made.headers["cache-control"] == "no-store"
    assert plain.group(1) not in client.get("/dashboard/keys").text  # never again
    rut = TestClient(client.app)
    assert post_login(rut, plain.group(1)).status_code == 303
    prefix = plain.group(1).split("_")[1]
    page = f"/dashboard/keys/{prefix}/revoke"
    assert "Spärra nyckeln till Rut?" in client.get(page).text
    client.post(page, data={"csrf_token": form_token(client, page)})
    assert rut.get("/dashboard", follow_redirects=False).status_code == 303  # signed out
    log = client.get("/dashboard/audit", params={"action": "api_keys."}).text
    assert log.count("<code>api_keys.") == 2
    assert "<code>api_keys." not in client.get("/dashboard/audit?action=campaigns.").text


def test_the_audit_log_filters_by_date_and_pages(
    client: TestClient, runtime: Runtime, clock: FakeClock
) -> None:
    admin = new_key(runtime, "Admin", Role.admin)
    sign_in(client, admin)
    token = form_token(client, "/dashboard/keys")
    for n in range(55):
        client.post(
            "/dashboard/keys", data={"csrf_token": token, "name": f"K{n}", "role": "editor"}
        )
    clock.advance(days=2)
    sign_in(client, admin)  # the session lasts a working day
    token = form_token(client, "/dashboard/keys")
    client.post("/dashboard/keys", data={"csrf_token": token, "name": "Late", "role": "editor"})
    first = client.get("/dashboard/audit").text
    assert first.count("<tr>") == 51 and "Äldre" in first  # 50 rows and the header
    second = client.get("/dashboard/audit?page=2").text
    assert second.count("<tr>") == 7 and "Nyare" in second
    day = clock.now().date().isoformat()
    only = client.get("/dashboard/audit", params={"since": day, "until": day}).text
    assert only.count("<tr>") == 2
    bad = client.get("/dashboard/audit", params={"since": "igår"})
    assert bad.status_code == 422 and 'id="since-error"' in bad.text


def test_courses_and_each_lesson_as_email_and_page(client: TestClient, runtime: Runtime) -> None:
    sync_lessons(runtime)
    sign_in(client, new_key(runtime))  # a reporter may read them
    courses = client.get("/dashboard/courses").text
    assert 'href="/dashboard/courses/radikalisering"' in courses
    course = client.get("/dashboard/courses/radikalisering").text
    email = re.search(r'href="(/dashboard/courses/radikalisering/lessons/rad-01/email)"', course)
    assert email
    mail = client.get(email.group(1))
    assert (
        mail.status_code == 200
        and "style-src 'unsafe-inline'" in mail.headers["content-security-policy"]
    )
    page = client.get("/dashboard/courses/radikalisering/lessons/rad-01/page")
    assert page.status_code == 200 and "/static/site.css" in page.text
    assert client.get("/dashboard/courses/radikalisering/lessons/nej/page").status_code == 404
