"""Lessons in the database: sync from files, and cheap reads for the planner and renderer.

Old LessonVersions are never changed: deliveries and answers point at the hash they sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.errors import ProblemError
from app.core.i18n import Text
from app.lessons.loader import CourseFile, LessonFile, LoadResult, Problem, load_courses
from app.lessons.models import Course, CourseOrigin, Lesson, LessonVersion


class LessonsInvalid(ProblemError):
    """The lesson files have errors; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            422,
            Text("Lektionsfilerna har fel", "The lesson files have errors"),
            Text(
                f"{len(problems)} fel; inget lästes in. Rätta felen (se dem med nanolearn "
                "lessons check) och läs in lektionerna igen.",
                f"{len(problems)} error(s); nothing was loaded. Fix them (nanolearn lessons "
                "check) and sync again.",
            ),
            errors=[{"file": str(p.path), "line": p.line, "message": p.message} for p in problems],
        )
        self.problems = problems


@dataclass
class SyncReport:
    courses_created: list[str] = field(default_factory=list)
    courses_updated: list[str] = field(default_factory=list)
    lessons_created: list[str] = field(default_factory=list)
    lessons_changed: list[str] = field(default_factory=list)  # a new version was stored
    lessons_moved: list[str] = field(default_factory=list)  # new place in the course order
    lessons_unlisted: list[str] = field(default_factory=list)
    # Folders gone from disk: their rows stay untouched so running campaigns keep working.
    courses_missing: list[str] = field(default_factory=list)
    # Folders named like an uploaded course: the upload stays, the folder is not loaded.
    courses_uploaded: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(
            (
                self.courses_created,
                self.courses_updated,
                self.lessons_created,
                self.lessons_changed,
                self.lessons_moved,
                self.lessons_unlisted,
            )
        )

    def lines(self) -> list[str]:
        """Summary lines for people, in Swedish; empty labels left out."""
        labels = (
            ("Nya kurser", self.courses_created),
            ("Ändrade kurser", self.courses_updated),
            ("Nya lektioner", self.lessons_created),
            ("Lektioner med ny text", self.lessons_changed),
            ("Lektioner med ny plats i ordningen", self.lessons_moved),
            ("Lektioner som inte längre finns med (sparas för gamla mejl)", self.lessons_unlisted),
            ("Kurser i databasen utan mapp (lämnas som de är)", self.courses_missing),
            ("Mappar med samma namn som en uppladdad kurs (lästes inte in)", self.courses_uploaded),
        )
        return [f"{label}: {', '.join(names)}" for label, names in labels if names]


class CourseListing(NamedTuple):
    course: Course
    lesson_count: int


class LessonWithVersion(NamedTuple):
    lesson: Lesson
    version: LessonVersion


class CourseDetail(NamedTuple):
    course: Course
    lessons: list[LessonWithVersion]


def moved_keys(session: Session, courses: list[CourseFile]) -> list[Problem]:
    """Lessons whose key already belongs to another course: reports would mix the two."""
    files = {lesson.key: (course.slug, lesson) for course in courses for lesson in course.lessons}
    if not files:
        return []
    rows = session.execute(
        select(Lesson.key, Course.slug).join(Course).where(Lesson.key.in_(files))
    ).all()
    return [
        Problem(
            files[key][1].path,
            files[key][1].id_line,
            f"id ”{key}” hör till kursen ”{slug}” i databasen, och en lektion kan inte flytta "
            "till en annan kurs: ge lektionen ett nytt id, eller flytta tillbaka den",
        )
        for key, slug in rows
        if files[key][0] != slug
    ]


def sync_courses(session: Session, result: LoadResult, now: datetime) -> SyncReport:
    """Make the database match the files; refuses (LessonsInvalid) when any file has errors."""
    if not result.ok:
        raise LessonsInvalid(result.errors)
    courses = {c.slug: c for c in session.scalars(select(Course))}
    uploaded = {slug for slug, c in courses.items() if c.origin == CourseOrigin.upload}
    folder_courses = [c for c in result.courses if c.slug not in uploaded]
    moved = moved_keys(session, folder_courses)
    if moved:
        raise LessonsInvalid(moved)
    report = SyncReport()
    report.courses_uploaded = sorted({c.slug for c in result.courses} & uploaded)
    report.courses_missing = sorted(set(courses) - uploaded - {c.slug for c in result.courses})
    for course_file in folder_courses:
        sync_course(session, course_file, courses.get(course_file.slug), report, now)
    session.flush()
    return report


def sync_course(
    session: Session,
    source: CourseFile,
    course: Course | None,
    report: SyncReport,
    now: datetime,
    origin: CourseOrigin = CourseOrigin.folder,
) -> None:
    """Make one course in the database match its files (new versions for changed lessons)."""
    if course is None:
        course = Course(slug=source.slug, content_hash="", origin=origin)
        report.courses_created.append(source.slug)
    elif course.content_hash != source.content_hash:
        report.courses_updated.append(source.slug)
    if course.content_hash != source.content_hash:
        course.title, course.description = source.title, source.description
        course.language, course.help_text = source.language, source.help
        course.content_hash, course.synced_at = source.content_hash, now
    course.topic = source.topic
    if course.id is None:
        session.add(course)
        session.flush()
    lessons = {
        lesson.key: lesson
        for lesson in session.scalars(select(Lesson).where(Lesson.course_id == course.id))
    }
    versions = {
        (lesson_id, content_hash)
        for lesson_id, content_hash in session.execute(
            select(LessonVersion.lesson_id, LessonVersion.content_hash)
            .join(Lesson)
            .where(Lesson.course_id == course.id)
        )
    }
    for position, lesson_file in enumerate(source.lessons, start=1):
        lesson = lessons.pop(lesson_file.key, None)
        _sync_lesson(session, course, lesson, lesson_file, position, versions, report, now)
    for lesson in lessons.values():
        if lesson.position is not None:
            lesson.position = None
            report.lessons_unlisted.append(lesson.key)


def _sync_lesson(
    session: Session,
    course: Course,
    lesson: Lesson | None,
    source: LessonFile,
    position: int,
    versions: set[tuple[int, str]],
    report: SyncReport,
    now: datetime,
) -> None:
    content_hash = source.content_hash
    if lesson is None:
        lesson = Lesson(key=source.key, course_id=course.id, position=position)
        lesson.content_hash = content_hash
        session.add(lesson)
        session.flush()
        report.lessons_created.append(source.key)
    elif lesson.position != position:
        lesson.position = position
        report.lessons_moved.append(source.key)
    if (lesson.id, content_hash) not in versions:
        session.add(new_version(lesson.id, source, now))
        if source.key not in report.lessons_created:
            report.lessons_changed.append(source.key)
    elif lesson.content_hash != content_hash:
        report.lessons_changed.append(source.key)  # back to a text it had before
    lesson.content_hash = content_hash


def new_version(lesson_id: int, source: LessonFile, now: datetime) -> LessonVersion:
    """A version of a lesson as its file says it (unsaved until added to a session)."""
    return LessonVersion(
        lesson_id=lesson_id,
        content_hash=source.content_hash,
        title=source.title,
        key_point=source.key_point,
        body_md=source.body_md,
        what_you_do=source.what_you_do,
        question=source.question,
        options=list(source.options),
        correct_index=source.correct_index,
        explanation=source.explanation,
        read_more_url=source.read_more_url,
        read_more_title=source.read_more_title,
        sources=list(source.sources),
        created_at=now,
    )


def sync_from_settings(session: Session, settings: Settings, now: datetime) -> SyncReport:
    """Load settings.lessons_dir and sync it (startup of serve/migrate, and tests)."""
    return sync_courses(session, load_courses(settings.lessons_dir), now)


def _listed(course_id: Any) -> ColumnElement[bool]:
    # Unlisted lessons (position None) stay for old deliveries but are no longer taught.
    return and_(Lesson.course_id == course_id, Lesson.position.is_not(None))


def list_courses(session: Session) -> list[CourseListing]:
    """Every course with the number of lessons it currently lists, by slug."""
    rows = session.execute(
        select(Course, func.count(Lesson.id))
        .outerjoin(Lesson, _listed(Course.id))
        .group_by(Course.id)
        .order_by(Course.slug)
    )
    return [CourseListing(course, count) for course, count in rows]


def get_course(session: Session, slug: str) -> CourseDetail | None:
    """A course with its listed lessons in order, each with its current version."""
    rows = session.execute(
        select(Course, Lesson, LessonVersion)
        .outerjoin(Lesson, _listed(Course.id))
        .outerjoin(
            LessonVersion,
            and_(
                LessonVersion.lesson_id == Lesson.id,
                LessonVersion.content_hash == Lesson.content_hash,
            ),
        )
        .where(Course.slug == slug)
        .order_by(Lesson.position)
    ).all()
    if not rows:
        return None
    lessons = [
        LessonWithVersion(lesson, version)
        for _, lesson, version in rows
        if lesson is not None and version is not None
    ]
    return CourseDetail(rows[0][0], lessons)


def current_version(session: Session, lesson_id: int) -> LessonVersion | None:
    """The version the lesson's files say now."""
    return session.scalar(
        select(LessonVersion)
        .join(
            Lesson,
            and_(
                Lesson.id == LessonVersion.lesson_id,
                Lesson.content_hash == LessonVersion.content_hash,
            ),
        )
        .where(Lesson.id == lesson_id)
    )


def version_for(session: Session, lesson_id: int, content_hash: str) -> LessonVersion | None:
    """The version that was sent, to show and grade exactly what the employee saw."""
    return session.scalar(
        select(LessonVersion).where(
            LessonVersion.lesson_id == lesson_id, LessonVersion.content_hash == content_hash
        )
    )


def course_lesson_count(session: Session, course_id: int) -> int:
    """How many lessons the course lists now (unlisted ones do not count)."""
    return session.scalar(select(func.count(Lesson.id)).where(_listed(course_id))) or 0
