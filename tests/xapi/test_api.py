from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.audit import list_audit
from tests.xapi.conftest import HOME, XapiScenario
from tests.xapi.lrs_standin import problems

URL = "/api/v1/reports/xapi"


def test_streams_a_json_array_and_audits_it(
    client: TestClient,
    reporter_headers: dict[str, str],
    session: Session,
    xapi_scenario: XapiScenario,
) -> None:
    params = {"campaign": xapi_scenario.campaign_id}
    response = client.get(URL, params=params, headers=reporter_headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = json.loads(response.content)
    assert len(body) == 8
    assert all(problems(s, HOME) == [] for s in body)
    [entry] = list_audit(session, action="export.xapi")
    assert (entry.target, entry.rows) == (f"campaign {xapi_scenario.campaign_id}", 8)
    assert entry.actor.startswith("key ") and entry.detail == {"complete": True}


def test_an_empty_campaign_is_an_empty_array(
    client: TestClient,
    reporter_headers: dict[str, str],
    xapi_scenario: XapiScenario,
    session: Session,
) -> None:
    from tests.reports.factory import Factory

    f = Factory(session)
    course, _ = f.course("tom", lessons=1)
    empty = f.campaign(course, "Tom")
    session.commit()
    response = client.get(URL, params={"campaign": empty.id}, headers=reporter_headers)
    assert response.json() == []


def test_needs_a_key_and_a_campaign(client: TestClient, reporter_headers: dict[str, str]) -> None:
    assert client.get(URL, params={"campaign": 1}).status_code == 401
    missing = client.get(URL, params={"campaign": 999_999}, headers=reporter_headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
