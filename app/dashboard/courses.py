"""Dashboard: the courses and their lessons; any lesson as the e-mail and as the lesson page an
employee gets (app.delivery.preview, app.tracking.pages), with links that lead nowhere."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.deps import ClockDep, SessionDep, SettingsDep
from app.core.errors import ProblemError
from app.core.links import Links
from app.dashboard.auth import DashboardUser
from app.dashboard.csrf import protect
from app.dashboard.responses import DashboardRoute, render
from app.delivery.preview import INACTIVE_TOKEN, course_preview
from app.delivery.render import EmailContent, render_email
from app.lessons.content import VersionedLesson, lesson_content, question_content
from app.lessons.models import Course
from app.lessons.service import get_course, list_courses
from app.tracking.pages import lesson_page

# An e-mail's own styles are inline; nothing else may load, and nothing can run.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_TZ = ZoneInfo("Europe/Stockholm")

router = APIRouter(
    prefix="/courses",
    route_class=DashboardRoute,
    include_in_schema=False,
    dependencies=[Depends(protect)],
)


@router.get("")
def courses(user: DashboardUser, session: SessionDep) -> Response:
    rows = [(c.course, c.lesson_count) for c in list_courses(session)]
    return render("courses.html", user=user, section="courses", rows=rows)


@router.get("/{slug}")
def course(slug: str, user: DashboardUser, session: SessionDep) -> Response:
    detail = get_course(session, slug[:100])
    if detail is None:
        return render("not_found.html", status=404, user=user, section="courses")
    return render("course.html", user=user, section="courses", detail=detail)


def _preview(
    session: Session, settings: Settings, slug: str, key: str, now: datetime
) -> tuple[Course, VersionedLesson, EmailContent] | None:
    found = session.scalar(select(Course).where(Course.slug == slug[:100]))
    if found is None:
        return None
    try:
        item, content = course_preview(
            session, settings, found, key[:100], now.astimezone(_TZ).date(), "Anna"
        )
    except ProblemError:
        return None
    return found, item, content


@router.get("/{slug}/lessons/{lesson_key}/email")
def lesson_email(
    slug: str,
    lesson_key: str,
    user: DashboardUser,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    found = _preview(session, settings, slug, lesson_key, clock.now())
    if found is None:
        return render("not_found.html", status=404, user=user, section="courses")
    html = render_email(found[2]).html
    return HTMLResponse(html, headers={"Content-Security-Policy": PREVIEW_CSP})


@router.get("/{slug}/lessons/{lesson_key}/page")
def lesson_web_page(
    slug: str,
    lesson_key: str,
    user: DashboardUser,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    found = _preview(session, settings, slug, lesson_key, clock.now())
    if found is None:
        return render("not_found.html", status=404, user=user, section="courses")
    course_, item, _ = found
    links = Links(settings.base_url, INACTIVE_TOKEN)
    html = lesson_page(
        language=course_.language,
        course_title=course_.title,
        help_md=course_.help_text,
        lesson=lesson_content(item),
        questions=[question_content(item, links, is_review=False)],
    )
    return HTMLResponse(html)
