"""Read-only course API; courses change through the files and `nanolearn lessons sync`."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.deps import ReaderKey
from app.core.deps import SessionDep
from app.core.errors import ProblemError
from app.core.i18n import Text
from app.lessons import service
from app.lessons.schemas import CourseOut, CourseSummaryOut

router = APIRouter(tags=["lessons"])


@router.get("/courses")
def list_courses(session: SessionDep, _key: ReaderKey) -> list[CourseSummaryOut]:
    """All courses with the number of lessons each one sends."""
    return [CourseSummaryOut.of(listing) for listing in service.list_courses(session)]


@router.get("/courses/{slug}")
def get_course(slug: str, session: SessionDep, _key: ReaderKey) -> CourseOut:
    """One course with its lessons in the order they are sent, each as it reads now."""
    detail = service.get_course(session, slug)
    if detail is None:
        raise ProblemError(
            404,
            Text("Kursen finns inte", "Course not found"),
            Text(
                f"Det finns ingen kurs ”{slug}”. GET /api/v1/courses visar dem (nya kursmappar "
                "kommer med efter: nanolearn lessons sync).",
                f"There is no course '{slug}'; GET /api/v1/courses lists them "
                "(new course folders appear after: nanolearn lessons sync)",
            ),
        )
    return CourseOut.of(detail)
