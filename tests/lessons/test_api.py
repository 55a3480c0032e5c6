"""GET /api/v1/courses and /api/v1/courses/{slug}."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.core.runtime import Runtime
from app.lessons.loader import load_courses
from app.lessons.service import sync_courses
from tests.lessons.conftest import FIXTURES


def _sync(runtime: Runtime) -> None:
    with runtime.session_factory() as session:
        sync_courses(session, load_courses(FIXTURES / "valid"), runtime.clock.now())
        session.commit()


def test_courses_need_an_api_key(client: TestClient) -> None:
    for path in ("/api/v1/courses", "/api/v1/courses/trygghet"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


def test_list_courses(
    client: TestClient, runtime: Runtime, reporter_headers: dict[str, str]
) -> None:
    _sync(runtime)
    response = client.get("/api/v1/courses", headers=reporter_headers)
    assert response.status_code == 200
    assert response.json() == [
        {
            "slug": "trygghet",
            "title": "Trygghet på jobbet",
            "description": "Två korta lektioner om hot och våld i arbetet.",
            "language": "sv",
            "lesson_count": 2,
        }
    ]


def test_get_course_with_lessons_in_order(
    client: TestClient, runtime: Runtime, reporter_headers: dict[str, str]
) -> None:
    _sync(runtime)
    response = client.get("/api/v1/courses/trygghet", headers=reporter_headers)
    assert response.status_code == 200
    course = response.json()
    assert (course["slug"], course["lesson_count"]) == ("trygghet", 2)
    assert "Kvinnofridslinjen: 020-50 50 50" in course["help"]
    first, second = course["lessons"]
    expected = load_courses(FIXTURES / "valid").courses[0].lessons[0]
    assert first == {
        "key": "try-01",
        "position": 1,
        "title": "Hot är alltid allvar",
        "key_point": expected.key_point,
        "body_md": expected.body_md,
        "what_you_do": "Skriv ner vad som hände och rapportera samma dag.",
        "quiz": {
            "question": "Vad gör du efter ett hot från en besökare?",
            "options": expected.options,
            "correct_index": 0,
            "explanation": expected.explanation,
        },
        "read_more": {
            "title": "Arbetsmiljöverket om hot och våld",
            "url": "https://www.av.se/halsa-och-sakerhet/hot-och-vald/",
        },
        "sources": ["Arbetsmiljöverket, AFS 2023:2"],
        "content_hash": expected.content_hash,
    }
    assert (second["key"], second["position"], second["read_more"]) == ("try-02", 2, None)


def test_unknown_course_is_a_404_problem(
    client: TestClient, reporter_headers: dict[str, str]
) -> None:
    response = client.get("/api/v1/courses/finns-inte", headers=reporter_headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Kursen finns inte"
    assert "finns-inte" in response.json()["detail"]
