"""Preview and test-send: the real rendering, with links that lead nowhere personal.

Their links carry a test token (core.tokens.sign_test): the public pages answer it with a page
that says this was a test, and record nothing."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.core.config import Settings
from app.core.errors import ProblemError
from app.core.i18n import Text
from app.core.links import Links
from app.core.tokens import message_id
from app.delivery.mime import build_message_bytes
from app.delivery.render import EmailContent, render_email
from app.lessons.content import VersionedLesson, lesson_content, question_content
from app.lessons.models import Course, Lesson, LessonVersion

INACTIVE_TOKEN = "preview"  # not a valid signature: every link of such a preview is a 404


def _lesson(session: Session, course_id: int, lesson_key: str | None) -> VersionedLesson:
    query = (
        select(Lesson.key, LessonVersion)
        .join(
            LessonVersion,
            (LessonVersion.lesson_id == Lesson.id)
            & (LessonVersion.content_hash == Lesson.content_hash),
        )
        .where(Lesson.course_id == course_id, Lesson.position.is_not(None))
    )
    query = (
        query.where(Lesson.key == lesson_key)
        if lesson_key
        else query.order_by(Lesson.position).limit(1)
    )
    row = session.execute(query).first()
    if row is None:
        detail = (
            Text(
                f"lesson: kampanjens kurs har ingen lektion ”{lesson_key}”. "
                "GET /api/v1/courses/{kurs} visar lektionerna.",
                f"lesson: no lesson {lesson_key!r} in this campaign's course",
            )
            if lesson_key
            else Text(
                "Kursen har inga lektioner. Läs in dem: nanolearn lessons sync",
                "the course has no lessons; sync them: nanolearn lessons sync",
            )
        )
        title = Text("Okänd lektion", "Unknown lesson")
        raise ProblemError(422 if lesson_key else 409, title, detail)
    return VersionedLesson(row[0], row[1])


def course_preview(
    session: Session,
    settings: Settings,
    course: Course,
    lesson_key: str | None,
    sent_on: date,
    first_name: str,
    *,
    links: Links | None = None,
    local_help: str = "",
    test: bool = False,
) -> tuple[VersionedLesson, EmailContent]:
    """A lesson of a course as its e-mail would carry it. Without `links` they lead nowhere
    (a course seen outside any campaign)."""
    item = _lesson(session, course.id, lesson_key)
    links = links or Links(settings.base_url, INACTIVE_TOKEN)
    content = EmailContent(
        language=course.language,
        course_title=course.title,
        help_md=course.help_text,
        first_name=first_name,
        lesson=lesson_content(item),
        questions=[question_content(item, links, is_review=False)],
        view_url=links.view(),
        unsubscribe_url=links.unsubscribe(),
        sent_on=sent_on,
        local_help_md=local_help,
        test=test,
    )
    return item, content


def preview_content(
    session: Session,
    settings: Settings,
    campaign: Campaign,
    lesson_key: str | None,
    now: datetime,
    first_name: str,
    *,
    test: bool = False,
) -> tuple[Course, EmailContent]:
    """A campaign's lesson e-mail; its links open a page that says it is a test."""
    course = session.get(Course, campaign.course_id)
    assert course is not None
    _, content = course_preview(
        session,
        settings,
        course,
        lesson_key,
        now.astimezone(ZoneInfo(campaign.timezone)).date(),
        first_name,
        links=Links.for_test(settings.base_url, settings.secret(), campaign.id),
        local_help=campaign.local_help,
        test=test,
    )
    return course, content


def preview_html(
    session: Session, settings: Settings, campaign: Campaign, lesson_key: str | None, now: datetime
) -> str:
    _, content = preview_content(session, settings, campaign, lesson_key, now, "Anna")
    return render_email(content).html


def test_message(
    session: Session,
    settings: Settings,
    campaign: Campaign,
    lesson_key: str | None,
    to_addr: str,
    now: datetime,
) -> tuple[bytes, str]:
    """The message as employees get it (the same writer) and its Message-ID. Raises
    addresses.AddressError for an address no e-mail can carry."""
    course, content = preview_content(session, settings, campaign, lesson_key, now, "", test=True)
    rendered = render_email(content)
    mid = message_id(settings.secret(), -int(now.timestamp()), settings.mail_domain)
    mid = mid.replace("nl.-", "nl.test.")
    data = build_message_bytes(
        rendered,
        to_addr=to_addr,
        to_name="",
        from_addr=settings.mail_from,
        message_id=mid,
        unsubscribe_url=content.unsubscribe_url,
        date=now,
        language=course.language,
    )
    return data, mid
