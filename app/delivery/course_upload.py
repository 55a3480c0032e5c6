"""Uploading a course, with what it means for campaigns already sending it, and its preview.

The lessons room parses, checks and publishes (app.lessons.course_upload); this adds the rule
that needs the outbox: a lesson a running campaign still has to send cannot be removed. The API
and the dashboard both call `import_course` and `lesson_preview`, so they cannot differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignStatus, Enrollment, EnrollmentStatus
from app.core.links import Links
from app.delivery.preview import INACTIVE_TOKEN
from app.delivery.render import EmailContent, render_email
from app.lessons.content import VersionedLesson, lesson_content, question_content
from app.lessons.course_files import CourseFile
from app.lessons.course_upload import (
    CourseImportInvalid,
    ImportIssue,
    ImportPlan,
    ParsedCourse,
    parse_upload,
    plan_import,
    publish,
)
from app.lessons.models import Course, Lesson
from app.lessons.service import new_version
from app.lessons.upload_guard import DEFAULT_LIMITS, Limits
from app.outbox.models import Delivery
from app.tracking.pages import lesson_page

SENDING = (CampaignStatus.running, CampaignStatus.paused)


def still_to_send(session: Session, slug: str, removed: list[str]) -> list[ImportIssue]:
    """A removed lesson that a running or paused campaign has not yet sent to everyone."""
    if not removed:
        return []
    had = (
        select(Delivery.id)
        .where(Delivery.enrollment_id == Enrollment.id, Delivery.lesson_id == Lesson.id)
        .correlate(Enrollment, Lesson)
    )
    rows = session.execute(
        select(Lesson.key, Campaign.id, Campaign.name)
        .join(Course, Course.id == Lesson.course_id)
        .join(Campaign, Campaign.course_id == Course.id)
        .join(Enrollment, Enrollment.campaign_id == Campaign.id)
        .where(
            Course.slug == slug,
            Lesson.key.in_(removed),
            Campaign.status.in_(SENDING),
            Enrollment.status == EnrollmentStatus.active,
            ~had.exists(),
        )
        .distinct()
        .order_by(Lesson.key, Campaign.id)
    ).all()
    return [
        ImportIssue(
            f"lektionen {key!r} finns inte längre med, men kampanjen {name!r} (nr {campaign_id}) "
            "pågår och har inte skickat den till alla ännu: behåll lektionen tills kampanjen är "
            "klar, eller avbryt kampanjen först"
        )
        for key, campaign_id, name in rows
    ]


def check_course(session: Session, upload: ParsedCourse) -> ImportPlan:
    """The dry run: every problem of the upload, and what publishing it would change."""
    plan = plan_import(session, upload)
    if plan.course is not None:
        plan.errors += still_to_send(session, plan.course, plan.removed)
    return plan


def import_course(
    session: Session,
    filename: str,
    data: bytes,
    now: datetime,
    *,
    dry_run: bool,
    limits: Limits = DEFAULT_LIMITS,
) -> ImportPlan:
    """Parse, check and (unless dry_run) publish an uploaded course: all or nothing; raises
    CourseImportInvalid, with every problem and its place, when anything is wrong."""
    plan = check_course(session, parse_upload(filename, data, limits))
    if plan.errors:
        raise CourseImportInvalid(plan)
    if not dry_run:
        publish(session, plan, now)
    return plan


@dataclass(frozen=True)
class LessonPreview:
    email_html: str
    page_html: str


def lesson_preview(
    course: CourseFile, lesson_key: str, sent_on: date, local_help: str = ""
) -> LessonPreview | None:
    """One lesson of a checked course (published or not) as its e-mail and its lesson page
    would show it; links lead nowhere. None when the course has no such lesson."""
    lesson = next((item for item in course.lessons if item.key == lesson_key), None)
    if lesson is None:
        return None
    version = new_version(0, lesson, datetime.combine(sent_on, datetime.min.time()))
    item = VersionedLesson(lesson.key, version)  # never added to a session
    links = Links("", INACTIVE_TOKEN)
    question = question_content(item, links, is_review=False)
    content = EmailContent(
        language=course.language,
        course_title=course.title,
        help_md=course.help,
        first_name="Anna",
        lesson=lesson_content(item),
        questions=[question],
        view_url=links.view(),
        unsubscribe_url=links.unsubscribe(),
        sent_on=sent_on,
        local_help_md=local_help,
    )
    page = lesson_page(
        language=course.language,
        course_title=course.title,
        help_md=course.help,
        lesson=lesson_content(item),
        questions=[question],
        local_help_md=local_help,
    )
    return LessonPreview(render_email(content).html, page)
