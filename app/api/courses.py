"""Uploading a course (ZIP or workbook) and previewing its lessons.

The rules live in app.lessons.course_upload and app.delivery.course_upload; the dashboard calls
the same functions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import HTMLResponse

from app.auth.audit import record_audit
from app.auth.deps import EditorKey, ReaderKey
from app.core.deps import ClockDep, SessionDep
from app.core.errors import ProblemError
from app.core.i18n import Text
from app.delivery.course_upload import import_course, lesson_preview
from app.lessons.course_upload import CourseImportInvalid, ImportPlan, course_from_db
from app.lessons.schemas import CourseImportOut
from app.lessons.upload_guard import MAX_UPLOAD_BYTES, UploadRefused, check_upload_size

router = APIRouter(prefix="/courses", tags=["lessons"])
PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


def _out(plan: ImportPlan, dry_run: bool) -> dict[str, Any]:
    return {**plan.as_dict(), "dry_run": dry_run}


@router.post(
    "/import",
    response_model=CourseImportOut,
    responses={422: {"description": "The course has errors; nothing was written", **PROBLEM}},
)
def import_course_file(
    file: Annotated[UploadFile, File(description="A .zip of a course folder or a .xlsx")],
    session: SessionDep,
    clock: ClockDep,
    key: EditorKey,
    dry_run: Annotated[bool, Query(description="Only check and say what would change")] = False,
) -> dict[str, Any]:
    """Check a course and publish it, all or nothing: any error changes nothing and answers 422
    with every problem and where it is (file:line, or sheet/row/column)."""
    filename = file.filename or ""
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    try:
        check_upload_size(len(data))
    except UploadRefused as exc:
        error = {"file": filename, "line": None, "sheet": None, "row": None, "column": None}
        title = Text("Kursen går inte att läsa", "The course cannot be read")
        raise ProblemError(
            422, title, exc.message, errors=[{**error, "message": exc.message}]
        ) from None
    try:
        plan = import_course(session, filename, data, clock.now(), dry_run=dry_run)
    except CourseImportInvalid as exc:
        body = _out(exc.plan, dry_run)
        count = len(exc.plan.errors)
        raise ProblemError(
            422,
            Text("Kursen har fel", "The course has errors"),
            Text(
                f"{count} fel; inget sparades. Rätta dem och ladda upp filen igen.",
                f"{count} error(s); nothing was saved. Fix them and upload the file again.",
            ),
            errors=body.pop("errors"),
            **body,
        ) from None
    if not dry_run:
        record_audit(
            session,
            actor=key,
            action="courses.import",
            now=clock.now(),
            target=f"course {plan.course}",
            rows=len(plan.created) + len(plan.changed),
            detail={"created": plan.created, "changed": plan.changed, "removed": plan.removed},
        )
    return _out(plan, dry_run)


@router.get("/{slug}/lessons/{lesson_key}/preview", response_class=HTMLResponse)
def preview_lesson(
    slug: str,
    lesson_key: str,
    session: SessionDep,
    clock: ClockDep,
    _: ReaderKey,
    show: Annotated[Literal["email", "page"], Query(alias="as")] = "email",
) -> HTMLResponse:
    """One lesson as it reads now, as its e-mail or as its lesson page (links are inactive)."""
    course = course_from_db(session, slug)
    preview = lesson_preview(course, lesson_key, clock.now().date()) if course else None
    if preview is None:
        raise ProblemError(
            404,
            Text("Lektionen finns inte", "No such lesson"),
            Text(
                f"Kursen ”{slug}” har ingen lektion ”{lesson_key}”. GET /api/v1/courses/{slug} "
                "visar kursens lektioner.",
                f"The course “{slug}” has no lesson “{lesson_key}”. GET /api/v1/courses/{slug} "
                "lists its lessons.",
            ),
        )
    return HTMLResponse(preview.email_html if show == "email" else preview.page_html)
