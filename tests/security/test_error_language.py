"""API errors speak the caller's language (Swedish by default, English when asked), without
library prefixes, and show the bad value with what to do."""

from __future__ import annotations

import ast
import json
from http import HTTPStatus
from pathlib import Path

from fastapi.testclient import TestClient

from app.core.runtime import Runtime
from tests.campaigns.test_campaign_api import BODY
from tests.flow import add_staff, sync_lessons

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


def _both(
    client: TestClient, method: str, url: str, headers: dict[str, str], **kw: object
) -> tuple[dict[str, object], dict[str, object]]:
    swedish = client.request(method, url, headers=headers, **kw)  # type: ignore[arg-type]
    english = client.request(method, url, headers={**headers, **ENGLISH}, **kw)  # type: ignore[arg-type]
    assert swedish.status_code == english.status_code >= 400, swedish.text
    return swedish.json(), english.json()


def test_service_refusals_answer_in_the_callers_language(
    client: TestClient, runtime: Runtime, editor_headers: dict[str, str]
) -> None:
    sync_lessons(runtime)
    sv, en = _both(client, "GET", "/api/v1/employees/999999", editor_headers)
    assert (sv["title"], en["title"]) == ("Anställd finns inte", "No such employee")
    assert "Det finns ingen anställd med id 999999" in str(sv["detail"])
    assert "There is no employee with id 999999" in str(en["detail"])

    created = client.post(URL, json=BODY, headers=editor_headers).json()["id"]
    sv, en = _both(client, "POST", f"{URL}/{created}/start", editor_headers)
    assert (sv["title"], en["title"]) == ("Kampanjen når ingen", "The campaign reaches no one")
    assert "Importera personallistan" in str(sv["detail"])
    assert "Import the staff list" in str(en["detail"])

    add_staff(runtime, "Socialförvaltningen", 2)
    body = {**BODY, "audience": {"departments": ["Socialförvaltninge"]}}
    sv, en = _both(client, "POST", URL, editor_headers, json=body)
    assert (sv["title"], en["title"]) == ("Okänd förvaltning", "Unknown department")
    assert "”Socialförvaltninge”" in str(sv["detail"]) and "Skriv namnet" in str(sv["detail"])
    assert "“Socialförvaltninge”" in str(en["detail"]) and "Write the name" in str(en["detail"])
    assert _messages(en)["audience.departments"] == (
        "unknown department “Socialförvaltninge”. Did you mean “Socialförvaltningen”?"
    )

    sv, en = _both(
        client, "GET", "/api/v1/courses/radikalisering/lessons/nej/preview", editor_headers
    )
    assert (sv["title"], en["title"]) == ("Lektionen finns inte", "No such lesson")
    assert "”nej”" in str(sv["detail"]) and "“nej”" in str(en["detail"])
    sv, en = _both(client, "GET", "/api/v1/courses/nej/export", editor_headers)
    assert (sv["title"], en["title"]) == ("Kursen finns inte", "Course not found")


def _one_language(text: ast.expr, phrases: set[str]) -> bool:
    def words(value: object) -> bool:
        return isinstance(value, str) and any(c.isalpha() for c in value)

    if isinstance(text, ast.Constant):
        return words(text.value) and text.value not in phrases
    if isinstance(text, ast.JoinedStr):
        return any(isinstance(p, ast.Constant) and words(p.value) for p in text.values)
    return False


def test_no_refusal_is_written_in_one_language_only() -> None:
    """Every ProblemError and HTTPException in the app gives its title and detail as a Text (both
    languages), a bare status phrase (the API words it per language), or a value from elsewhere
    (a relay's answer, a message built by a checker); never a plain literal in one language."""
    phrases = {status.phrase for status in HTTPStatus}
    found = []
    for path in sorted((Path(__file__).parents[2] / "app").rglob("*.py")):
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(call, ast.Call) or getattr(
                call.func, "id", getattr(call.func, "attr", None)
            ) not in ("ProblemError", "HTTPException"):
                continue
            texts = call.args[1:3] + [
                k.value for k in call.keywords if k.arg in ("title", "detail")
            ]
            for text in texts:
                if _one_language(text, phrases):
                    found.append(f"{path.name}:{call.lineno}")
    assert found == []
