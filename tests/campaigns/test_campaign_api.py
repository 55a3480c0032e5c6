"""Campaign bodies, state changes and preview through the API."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app.campaigns.models import Campaign
from app.core.runtime import Runtime
from app.employees.models import Employee
from tests.flow import add_staff, sync_lessons

BODY: dict[str, Any] = {
    "name": "Våld i nära relationer",
    "course": "vald-i-nara-relationer",
    "schedule": {"start_date": "2026-01-05", "weekdays": ["tue"], "time": "08:30"},
}


def body_with(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(BODY)
    *parents, last = path.split(".")
    target = body
    for p in parents:
        target = target[p]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return body


@pytest.fixture
def synced(runtime: Runtime) -> Runtime:
    sync_lessons(runtime)
    add_staff(runtime, "Vård och omsorg", 3)
    add_staff(runtime, "Socialförvaltningen", 2)
    return runtime


@pytest.mark.parametrize(
    ("path", "value", "field", "words"),
    [
        ("course", "no-such-course", "course", "no course “no-such-course”"),
        ("schedule.weekdays", [], "schedule.weekdays", "at least 1"),
        ("schedule.weekdays", ["monday"], "schedule.weekdays.0", "'mon'"),
        ("schedule.timezone", "Mars/Olympus", "schedule.timezone", "unknown time zone"),
        ("schedule.time", "8.30", "schedule.time", "“8.30” is not a time. write it as hh:mm"),
        ("schedule.time", "06:00", "schedule", "outside the send window"),
        ("schedule.start_date", "2026-02-30", "schedule.start_date", "date"),
        ("schedule.start_date", KeyError, "schedule.start_date", "missing"),
        ("name", "", "name", "empty"),
        ("desired_retention", 0.5, "desired_retention", "0.5 is too small: at least 0.7"),
        ("max_reviews_per_email", 3, "max_reviews_per_email", "3 is too large: at most 2"),
        ("colour", "blue", "colour", "unknown field"),
    ],
)
def test_invalid_campaign_bodies_name_the_field(
    client: TestClient,
    synced: Runtime,
    editor_headers: dict,
    path: str,
    value: Any,
    field: str,
    words: str,
) -> None:
    english = {**editor_headers, "Accept-Language": "en"}  # Swedish: tests/security
    response = client.post("/api/v1/campaigns", json=body_with(path, value), headers=english)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    fields = [e["field"] for e in problem["errors"]]
    assert field in fields, fields
    assert words.lower() in problem["detail"].lower()
    assert client.get("/api/v1/campaigns", headers=editor_headers).json() == []  # nothing written


def test_not_json_at_all(client: TestClient, editor_headers: dict) -> None:
    response = client.post(
        "/api/v1/campaigns",
        content=b"{not json",
        headers={**editor_headers, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "json" in response.json()["detail"].lower()


def test_state_machine_says_what_is_possible(
    client: TestClient, synced: Runtime, editor_headers: dict
) -> None:
    campaign = client.post("/api/v1/campaigns", json=BODY, headers=editor_headers).json()
    url = f"/api/v1/campaigns/{campaign['id']}"
    assert campaign["status"] == "draft" and campaign["next_slot_at"] is not None
    assert client.post(f"{url}/resume", headers=editor_headers).status_code == 409
    assert client.post(f"{url}/start", headers=editor_headers).json()["status"] == "running"
    conflict = client.post(f"{url}/start", headers=editor_headers)
    assert conflict.status_code == 409
    assert "Det som går nu: pause, cancel" in conflict.json()["detail"]
    english = client.post(f"{url}/start", headers={**editor_headers, "Accept-Language": "en"})
    assert "possible now: pause, cancel" in english.json()["detail"]
    assert client.post(f"{url}/pause", headers=editor_headers).json()["status"] == "paused"
    assert client.post(f"{url}/resume", headers=editor_headers).json()["status"] == "running"
    assert client.post(f"{url}/cancel", headers=editor_headers).json()["status"] == "cancelled"
    patch = client.patch(url, json={"name": "x"}, headers=editor_headers)
    assert patch.status_code == 409
    assert client.get("/api/v1/campaigns/999", headers=editor_headers).status_code == 404


def test_patch_and_preview(client: TestClient, synced: Runtime, editor_headers: dict) -> None:
    campaign = client.post("/api/v1/campaigns", json=BODY, headers=editor_headers).json()
    url = f"/api/v1/campaigns/{campaign['id']}"
    patched = client.patch(
        url, json={"audience": {"departments": ["Vård och omsorg"]}}, headers=editor_headers
    )
    assert patched.json()["audience"]["departments"] == ["Vård och omsorg"]
    preview = client.get(f"{url}/preview", headers=editor_headers)
    assert preview.status_code == 200 and 'lang="sv"' in preview.text
    assert "020-50 50 50" in preview.text  # the course's help text is in every e-mail
    second = client.get(f"{url}/preview?lesson=vnr-02", headers=editor_headers)
    assert second.status_code == 200 and second.text != preview.text
    missing = client.get(f"{url}/preview?lesson=rad-01", headers=editor_headers)
    assert missing.status_code == 422


def test_test_send_reaches_a_real_smtp_server(
    client: TestClient, synced: Runtime, editor_headers: dict, smtp_sink
) -> None:  # type: ignore[no-untyped-def]
    campaign = client.post("/api/v1/campaigns", json=BODY, headers=editor_headers).json()
    response = client.post(
        f"/api/v1/campaigns/{campaign['id']}/test-send",
        json={"email": "Projekt@Kommun.example"},
        headers=editor_headers,
    )
    assert response.status_code == 200, response.text
    (received,) = smtp_sink.received
    assert received.rcpt_tos == ["Projekt@kommun.example"]  # local part as typed; domain normalised
    assert received.message["Message-ID"] == response.json()["message_id"]
    bad = client.post(
        f"/api/v1/campaigns/{campaign['id']}/test-send",
        json={"email": "not-an-address"},
        headers=editor_headers,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "email"


def test_test_send_says_when_the_relay_refuses(
    client: TestClient, synced: Runtime, editor_headers: dict, smtp_sink
) -> None:  # type: ignore[no-untyped-def]
    from tests.smtp_server import FaultyHandler

    faulty = FaultyHandler(reject={"nobody@kommun.example"})
    smtp_sink.controller.handler = smtp_sink.handler = faulty
    campaign = client.post("/api/v1/campaigns", json=BODY, headers=editor_headers).json()
    response = client.post(
        f"/api/v1/campaigns/{campaign['id']}/test-send",
        json={"email": "nobody@kommun.example"},
        headers=editor_headers,
    )
    assert response.status_code == 502
    assert "550" in response.json()["detail"]


def test_a_misspelt_department_is_refused_with_the_known_ones(
    client: TestClient, synced: Runtime, editor_headers: dict
) -> None:
    body = body_with("audience", {"departments": ["Socialförvaltning"]})
    refused = client.post("/api/v1/campaigns", json=body, headers=editor_headers)
    assert refused.status_code == 422
    problem = refused.json()
    assert "Socialförvaltningen (2)" in problem["detail"]  # the known ones, with head counts
    assert "Vård och omsorg (3)" in problem["detail"]
    assert problem["errors"][0]["field"] == "audience.departments"
    assert "Socialförvaltningen" in problem["errors"][0]["message"]  # the close match
    with synced.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0
    made = client.post("/api/v1/campaigns", json=BODY, headers=editor_headers).json()
    patched = client.patch(
        f"/api/v1/campaigns/{made['id']}",
        json={"audience": {"departments": ["Okänd"]}},
        headers=editor_headers,
    )
    assert patched.status_code == 422 and "Okänd" in patched.json()["detail"]


def test_a_campaign_whose_audience_is_empty_does_not_start(
    client: TestClient, synced: Runtime, editor_headers: dict
) -> None:
    body = body_with("audience", {"departments": ["Vård och omsorg"]})
    made = client.post("/api/v1/campaigns", json=body, headers=editor_headers).json()
    with synced.session_factory() as session:  # everyone there leaves before the start
        session.execute(
            update(Employee).where(Employee.department == "Vård och omsorg").values(active=False)
        )
        session.commit()
    started = client.post(f"/api/v1/campaigns/{made['id']}/start", headers=editor_headers)
    assert started.status_code == 409
    assert "når ingen" in started.json()["title"] and "Vård och omsorg" in started.json()["detail"]
    again = client.get(f"/api/v1/campaigns/{made['id']}", headers=editor_headers).json()
    assert again["status"] == "draft" and again["counts"]["enrolled"] == 0
