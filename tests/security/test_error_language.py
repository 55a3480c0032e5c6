"""API errors speak the caller's language (Swedish by default, English when asked), without
library prefixes, and show the bad value with what to do."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.campaigns.test_campaign_api import BODY

URL = "/api/v1/campaigns"
BAD = {
    **BODY,
    "max_reviews_per_email": "många",
    "schedule": {**BODY["schedule"], "start_date": "2026-09-01", "end_date": "2026-08-01"},
}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


def _post(client: TestClient, headers: dict[str, str]) -> dict[str, object]:
    response = client.post(URL, json=BAD, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "Value error," not in response.text and "Input should be" not in response.text
    body: dict[str, object] = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "errors"}
    return body


def _messages(body: dict[str, object]) -> dict[str, str]:
    errors = body["errors"]
    assert isinstance(errors, list)
    assert all(set(e) == {"field", "message"} for e in errors)
    return {e["field"]: e["message"] for e in errors}


def test_a_bad_body_in_swedish_by_default(
    client: TestClient, editor_headers: dict[str, str]
) -> None:
    body = _post(client, editor_headers)
    assert body["title"] == "Ogiltig begäran"
    messages = _messages(body)
    assert (
        messages["max_reviews_per_email"] == "”många” är inget heltal. Skriv ett heltal, t.ex. 3."
    )
    assert "slutdatumet" in messages["schedule"].lower() and "2026-08-01" in messages["schedule"]


def test_a_bad_body_in_english_when_asked(
    client: TestClient, editor_headers: dict[str, str]
) -> None:
    body = _post(client, {**editor_headers, **ENGLISH})
    assert body["title"] == "Invalid request"
    messages = _messages(body)
    assert messages["max_reviews_per_email"] == "“många” is not a whole number. Write one, e.g. 3."
    assert "end_date" in messages["schedule"] and "2026-08-01" in messages["schedule"]


def test_a_swedish_preference_over_english_is_swedish(
    client: TestClient, editor_headers: dict[str, str]
) -> None:
    headers = {**editor_headers, "Accept-Language": "sv-SE, en;q=0.5"}
    assert _post(client, headers)["title"] == "Ogiltig begäran"


def test_other_errors_follow_the_language_too(
    client: TestClient, editor_headers: dict[str, str]
) -> None:
    missing = client.get(f"{URL}/999999", headers=editor_headers).json()
    assert missing["title"] == "Hittades inte" and "999999" in missing["detail"]
    assert client.get(f"{URL}/999999", headers={**editor_headers, **ENGLISH}).json()["title"] == (
        "Not Found"
    )
    no_key = client.get(URL).json()
    assert "API-nyckel" in no_key["title"] and "Authorization: Bearer" in no_key["detail"]
    broken = client.post(
        URL, content=b'{"name": ', headers={**editor_headers, "Content-Type": "application/json"}
    )
    assert "JSON" in json.dumps(broken.json(), ensure_ascii=False)
    assert "Value error" not in broken.text and broken.json()["title"] == "Ogiltig begäran"
