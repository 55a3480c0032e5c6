"""Courses, lessons and lesson versions, read once per run: statements name them by the dozen."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.lessons.models import Course, Lesson, LessonVersion


@dataclass(frozen=True)
class CourseInfo:
    slug: str
    title: str
    language: str


@dataclass(frozen=True)
class LessonInfo:
    key: str
    course_id: int
    title: str  # from the lesson's current version


@dataclass(frozen=True)
class QuestionInfo:
    text: str
    options: tuple[str, ...]
    correct_index: int


@dataclass(frozen=True)
class Catalog:
    courses: dict[int, CourseInfo]
    lessons: dict[int, LessonInfo]
    questions: dict[tuple[int, str], QuestionInfo]  # by (lesson id, content hash)
    campaign_courses: dict[int, int]
    course_sizes: dict[int, int]  # lessons in each course (with a position)

    @classmethod
    def load(cls, session: Session) -> Catalog:
        courses = {
            c.id: CourseInfo(c.slug, c.title, c.language or "sv")
            for c in session.scalars(select(Course))
        }
        versions = session.scalars(select(LessonVersion)).all()
        all_lessons = session.scalars(select(Lesson)).all()
        titles = {(v.lesson_id, v.content_hash): v.title for v in versions}
        lessons = {
            lesson.id: LessonInfo(
                lesson.key,
                lesson.course_id,
                titles.get((lesson.id, lesson.content_hash), lesson.key),
            )
            for lesson in all_lessons
        }
        questions = {
            (v.lesson_id, v.content_hash): QuestionInfo(
                v.question, tuple(v.options), v.correct_index
            )
            for v in versions
        }
        campaigns = {i: c for i, c in session.execute(select(Campaign.id, Campaign.course_id))}
        sizes = Counter(lesson.course_id for lesson in all_lessons if lesson.position is not None)
        return cls(courses, lessons, questions, campaigns, dict(sizes))
