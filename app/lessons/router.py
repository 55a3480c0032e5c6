"""Course API: list and read courses, the workbook template, export. Courses change through
the lessons folder (`nanolearn lessons sync`) or an upload (POST /courses/import, app.api)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Response

from app.auth.deps import ReaderKey
from app.core.deps import SessionDep
from app.core.errors import ProblemError
from app.core.i18n import Text
from app.lessons import service
from app.lessons.course_upload import export_course
from app.lessons.schemas import CourseOut, CourseSummaryOut
from app.lessons.workbook import template_workbook

router = APIRouter(tags=["lessons"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA = {"zip": "application/zip", "xlsx": XLSX}


@router.get("/courses")
def list_courses(session: SessionDep, _key: ReaderKey) -> list[CourseSummaryOut]:
    """All courses with the number of lessons each one sends."""
    return [CourseSummaryOut.of(listing) for listing in service.list_courses(session)]


@router.get("/courses/template.xlsx", response_class=Response)
def course_template(_key: ReaderKey) -> Response:
    """The Excel template for writing a course: a course sheet, one row per lesson (with one
    example lesson) and instructions in Swedish. Upload it filled in to POST /courses/import."""
    return Response(
        template_workbook(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="kursmall.xlsx"'},
    )


def _no_course(slug: str) -> ProblemError:
    return ProblemError(
        404,
        Text("Kursen finns inte", "Course not found"),
        Text(
            f"Det finns ingen kurs ”{slug}”. GET /api/v1/courses visar dem (nya kursmappar "
            "kommer med efter: nanolearn lessons sync).",
            f"There is no course “{slug}”; GET /api/v1/courses lists them "
            "(new course folders appear after: nanolearn lessons sync).",
        ),
    )


@router.get("/courses/{slug}")
def get_course(slug: str, session: SessionDep, _key: ReaderKey) -> CourseOut:
    """One course with its lessons in the order they are sent, each as it reads now."""
    detail = service.get_course(session, slug)
    if detail is None:
        raise _no_course(slug)
    return CourseOut.of(detail)


@router.get("/courses/{slug}/export", response_class=Response)
def export(
    slug: str,
    session: SessionDep,
    _key: ReaderKey,
    format: Literal["zip", "xlsx"] = Query("xlsx", description="zip: a course folder; xlsx"),
) -> Response:
    """The course as it reads now, as a ZIP of its folder or a workbook: edit and import it
    again, and only the lessons that changed get new versions."""
    data = export_course(session, slug, format)
    if data is None:
        raise _no_course(slug)
    return Response(
        data,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{slug}.{format}"'},
    )
