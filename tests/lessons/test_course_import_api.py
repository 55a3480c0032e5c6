"""POST /api/v1/courses/import, the template and export: all or nothing, round trips."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.runtime import Runtime
from app.lessons.models import Course, CourseOrigin, LessonVersion
from app.lessons.service import sync_from_settings
from app.lessons.upload_guard import MAX_UPLOAD_BYTES
from tests.lessons.courses import edit_workbook, fixture_zip, make_zip, small_course

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(
    client: TestClient, headers: dict[str, str], name: str, data: bytes, dry_run: bool = False
) -> Any:
    return client.post(
        f"/api/v1/courses/import?dry_run={str(dry_run).lower()}",
        files={"file": (name, data, "application/octet-stream")},
        headers=headers,
    )


def counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.session_factory() as session:
        return (
            session.scalar(select(func.count(Course.id))) or 0,
            session.scalar(select(func.count(LessonVersion.id))) or 0,
        )


def test_dry_run_then_publish_then_unchanged(
    client: TestClient, runtime: Runtime, editor_headers: dict[str, str]
) -> None:
    dry = upload(client, editor_headers, "trygghet.zip", fixture_zip(), dry_run=True)
    assert dry.status_code == 200, dry.text
    assert dry.json() | {"warnings": []} == {
        "course": "trygghet", "course_created": True, "dry_run": True,
        "created": ["try-01", "try-02"], "changed": [], "unchanged": [], "removed": [],
        "errors": [], "warnings": [],
    }  # fmt: skip
    assert counts(runtime) == (0, 0)
    published = upload(client, editor_headers, "trygghet.zip", fixture_zip())
    assert published.json()["created"] == ["try-01", "try-02"]
    assert counts(runtime) == (1, 2)
    again = upload(client, editor_headers, "trygghet.zip", fixture_zip()).json()
    assert (again["created"], again["changed"], again["unchanged"]) == (
        [],
        [],
        ["try-01", "try-02"],
    )
    assert counts(runtime) == (1, 2)
    with runtime.session_factory() as session:
        assert session.scalar(select(Course.origin)) == CourseOrigin.upload


def test_export_edit_in_excel_and_import_again_changes_one_lesson(
    client: TestClient, runtime: Runtime, editor_headers: dict[str, str]
) -> None:
    upload(client, editor_headers, "trygghet.zip", fixture_zip())
    exported = client.get("/api/v1/courses/trygghet/export?format=xlsx", headers=editor_headers)
    assert exported.status_code == 200 and exported.headers["content-type"] == XLSX

    def retitle(workbook: Any) -> None:
        workbook["Lektioner"]["B3"] = "En ny rubrik"

    result = upload(client, editor_headers, "t.xlsx", edit_workbook(retitle, exported.content))
    assert result.status_code == 200, result.text
    body = result.json()
    assert (body["changed"], body["unchanged"]) == (["try-02"], ["try-01"])
    assert counts(runtime) == (1, 3)
    as_zip = client.get("/api/v1/courses/trygghet/export?format=zip", headers=editor_headers)
    again = upload(client, editor_headers, "trygghet.zip", as_zip.content).json()
    assert again["unchanged"] == ["try-01", "try-02"]


def test_any_error_changes_nothing_and_lists_every_problem(
    client: TestClient, runtime: Runtime, editor_headers: dict[str, str]
) -> None:
    def break_two(workbook: Any) -> None:
        workbook["Lektioner"]["C2"] = None
        workbook["Lektioner"]["L2"] = "Q"

    response = upload(client, editor_headers, "k.xlsx", edit_workbook(break_two))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"].startswith("3 fel; inget sparades")
    places = [(e["sheet"], e["row"], e["column"]) for e in problem["errors"]]
    assert ("Lektioner", 2, "Kärnbudskap") in places and ("Lektioner", 2, "Rätt svar") in places
    assert counts(runtime) == (0, 0)


def test_an_upload_never_replaces_a_folder_course(
    client: TestClient, runtime: Runtime, editor_headers: dict[str, str]
) -> None:
    with runtime.session_factory() as session:
        sync_from_settings(session, runtime.settings, runtime.clock.now())
        session.commit()
    before = counts(runtime)
    files = small_course("radikalisering", ("ny-01",))
    response = upload(client, editor_headers, "r.zip", make_zip(files))
    assert response.status_code == 422
    assert "kommer från lessons-mappen" in response.json()["errors"][0]["message"]
    taken = upload(client, editor_headers, "k.zip", make_zip(small_course("egen", ("rad-01",))))
    assert taken.status_code == 422
    error = taken.json()["errors"][0]
    assert (error["file"], error["line"]) == ("egen/rad-01.md", 2)
    assert "hör till kursen ”radikalisering”" in error["message"]
    assert counts(runtime) == before


def test_the_folder_sync_leaves_uploaded_courses_alone(
    client: TestClient, runtime: Runtime, editor_headers: dict[str, str]
) -> None:
    upload(client, editor_headers, "k.zip", make_zip(small_course()))
    with runtime.session_factory() as session:
        report = sync_from_settings(session, runtime.settings, runtime.clock.now())
        session.commit()
    assert report.courses_missing == []  # the upload is not a folder gone missing
    assert upload(client, editor_headers, "k.zip", make_zip(small_course())).status_code == 200


def test_template_size_limit_and_roles(
    client: TestClient, editor_headers: dict[str, str], reporter_headers: dict[str, str]
) -> None:
    template = client.get("/api/v1/courses/template.xlsx", headers=reporter_headers)
    assert template.status_code == 200 and template.headers["content-type"] == XLSX
    assert upload(client, reporter_headers, "k.zip", fixture_zip()).status_code == 403
    too_big = upload(client, editor_headers, "k.zip", b"0" * (MAX_UPLOAD_BYTES + 1))
    assert too_big.status_code == 422 and "för stor" in too_big.json()["errors"][0]["message"]
    missing = client.get("/api/v1/courses/finns-inte/export", headers=reporter_headers)
    assert missing.status_code == 404


def test_preview_a_lesson_as_email_and_page(
    client: TestClient, editor_headers: dict[str, str]
) -> None:
    upload(client, editor_headers, "trygghet.zip", fixture_zip())
    url = "/api/v1/courses/trygghet/lessons/try-01/preview"
    email = client.get(url, headers=editor_headers)
    page = client.get(f"{url}?as=page", headers=editor_headers)
    assert email.status_code == page.status_code == 200
    assert "Hot är alltid allvar" in email.text and "Hot är alltid allvar" in page.text
    assert "Avsluta utskicken" in email.text and "Avsluta utskicken" not in page.text
    assert client.get(f"{url[:-13]}nope/preview", headers=editor_headers).status_code == 404
