"""API shapes for courses and lessons."""

from __future__ import annotations

from pydantic import BaseModel

from app.lessons.service import CourseDetail, CourseListing, LessonWithVersion


class CourseSummaryOut(BaseModel):
    slug: str
    title: str
    description: str
    language: str
    lesson_count: int

    @classmethod
    def of(cls, listing: CourseListing) -> CourseSummaryOut:
        course = listing.course
        return cls(
            slug=course.slug,
            title=course.title,
            description=course.description,
            language=course.language,
            lesson_count=listing.lesson_count,
        )


class QuizOut(BaseModel):
    question: str
    options: list[str]
    correct_index: int
    explanation: str


class ReadMoreOut(BaseModel):
    title: str | None
    url: str


class LessonOut(BaseModel):
    key: str
    position: int
    title: str
    key_point: str
    body_md: str
    what_you_do: str
    quiz: QuizOut
    read_more: ReadMoreOut | None
    sources: list[str]
    content_hash: str

    @classmethod
    def of(cls, item: LessonWithVersion) -> LessonOut:
        lesson, version = item
        read_more = (
            ReadMoreOut(title=version.read_more_title, url=version.read_more_url)
            if version.read_more_url
            else None
        )
        return cls(
            key=lesson.key,
            position=lesson.position or 0,
            title=version.title,
            key_point=version.key_point,
            body_md=version.body_md,
            what_you_do=version.what_you_do,
            quiz=QuizOut(
                question=version.question,
                options=version.options,
                correct_index=version.correct_index,
                explanation=version.explanation,
            ),
            read_more=read_more,
            sources=[str(source) for source in version.sources],
            content_hash=version.content_hash,
        )


class CourseOut(BaseModel):
    slug: str
    title: str
    description: str
    language: str
    help: str
    lesson_count: int
    lessons: list[LessonOut]

    @classmethod
    def of(cls, detail: CourseDetail) -> CourseOut:
        course = detail.course
        return cls(
            slug=course.slug,
            title=course.title,
            description=course.description,
            language=course.language,
            help=course.help_text,
            lesson_count=len(detail.lessons),
            lessons=[LessonOut.of(item) for item in detail.lessons],
        )


class ImportProblemOut(BaseModel):
    """Where a problem is: file and line in a ZIP; sheet, row and column in a workbook."""

    file: str | None
    line: int | None
    sheet: str | None
    row: int | None
    column: str | None
    message: str


class CourseImportOut(BaseModel):
    course: str | None
    course_created: bool
    dry_run: bool
    created: list[str]  # lesson ids new to the course
    changed: list[str]  # lessons that get a new version
    unchanged: list[str]
    removed: list[str]  # no longer listed: kept for e-mails already sent, no longer sent
    errors: list[ImportProblemOut]
    warnings: list[ImportProblemOut]
