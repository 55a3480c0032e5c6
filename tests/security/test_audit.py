"""The audit log: every campaign change appears with who, what, when and how many; admins read
it at GET /api/v1/audit, filtered and paged."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from tests.flow import sync_lessons
from tests.tracking.campaign import CAMPAIGN, STAFF_CSV

AUDIT = "/api/v1/audit"


def read(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get(AUDIT, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_every_campaign_change_is_audited(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    editor_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    sync_lessons(runtime)
    client.post(
        "/api/v1/employees/import",
        files={"file": ("p.csv", STAFF_CSV.encode(), "text/csv")},
        headers=editor_headers,
    )
    campaign = client.post("/api/v1/campaigns", json=CAMPAIGN, headers=editor_headers).json()
    url = f"/api/v1/campaigns/{campaign['id']}"
    patch = {"name": "Nytt namn", "owner_emails": ["chef@kommun.example"]}
    assert client.patch(url, json=patch, headers=editor_headers).status_code == 200
    sent = client.post(
        f"{url}/test-send", json={"email": "me@kommun.example"}, headers=editor_headers
    )
    assert sent.status_code == 200, sent.text
    for action in ("start", "pause", "resume", "cancel"):
        clock.advance(minutes=1)
        assert client.post(f"{url}/{action}", headers=editor_headers).status_code == 200
    # A refused change is not a change: nothing is audited for it.
    assert client.post(f"{url}/resume", headers=editor_headers).status_code == 409

    entries = read(client, admin_headers, action="campaigns.")
    assert [e["action"] for e in reversed(entries)] == [
        "campaigns.create",
        "campaigns.update",
        "campaigns.test_send",
        "campaigns.start",
        "campaigns.pause",
        "campaigns.resume",
        "campaigns.cancel",
    ]
    editor_prefix = editor_headers["Authorization"].split("_")[1]
    for entry in entries:
        assert entry["actor"] == f"key {editor_prefix} (test editor)"
        assert entry["target"] == f"campaign {campaign['id']}"
    by_action = {e["action"]: e for e in entries}
    assert by_action["campaigns.create"]["detail"] == {"course": "radikalisering"}
    assert by_action["campaigns.update"]["detail"] == {"fields": ["name", "owner_emails"]}
    assert by_action["campaigns.start"]["rows"] == 2  # enrolled
    assert by_action["campaigns.test_send"]["rows"] == 1
    assert by_action["campaigns.cancel"]["at"] > by_action["campaigns.start"]["at"]
    text = str(entries)
    assert "@" not in text, "no address in the audit log: not the owner's, not the test inbox"


def test_the_audit_log_filters_and_pages(
    client: TestClient, admin_headers: dict[str, str], editor_headers: dict[str, str]
) -> None:
    for name in ("A", "B", "C"):
        client.post(
            "/api/v1/api-keys", json={"name": name, "role": "reporter"}, headers=admin_headers
        )
    client.post("/api/v1/campaigns", json={}, headers=editor_headers)  # invalid: not audited
    everything = read(client, admin_headers)
    assert len(everything) == 3
    assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)
    assert read(client, admin_headers, limit=2) == everything[:2]
    assert read(client, admin_headers, limit=2, offset=2) == everything[2:]
    assert read(client, admin_headers, action="campaigns.") == []
    assert len(read(client, admin_headers, action="api_keys.create")) == 3
    page = client.get(AUDIT, params={"limit": 2}, headers=admin_headers).json()
    assert page["limit"] == 2 and page["offset"] == 0


def test_bad_audit_queries_and_other_roles(
    client: TestClient,
    admin_headers: dict[str, str],
    editor_headers: dict[str, str],
    reporter_headers: dict[str, str],
) -> None:
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"action": "x" * 65}):
        response = client.get(AUDIT, params=params, headers=admin_headers)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
    assert client.get(AUDIT, headers=editor_headers).status_code == 403
    assert client.get(AUDIT, headers=reporter_headers).status_code == 403
    assert client.get(AUDIT).status_code == 401
