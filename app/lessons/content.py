"""What e-mails and pages show of a lesson: one version of it, as plain values.

A lesson version is immutable (its id and content hash name it), so whatever is built from one
can be cached for as long as the process lives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from app.core.links import Links
from app.lessons.models import Lesson, LessonVersion


@dataclass(frozen=True)
class LessonContent:
    key: str
    title: str
    key_point: str
    body_md: str
    what_you_do: str
    read_more_url: str | None
    read_more_title: str | None
    sources: list[str]


@dataclass(frozen=True)
class QuestionContent:
    lesson_key: str
    lesson_title: str
    question: str
    options: list[str]
    answer_urls: list[str]  # absolute URL per option, same order
    is_review: bool  # a repetition of an earlier lesson's question
    original_lesson_url: str | None  # reviews: link to read the original lesson


@dataclass(frozen=True)
class VersionedLesson:
    key: str
    version: LessonVersion


def lesson_content(item: VersionedLesson) -> LessonContent:
    v = item.version
    return LessonContent(
        key=item.key,
        title=v.title,
        key_point=v.key_point,
        body_md=v.body_md,
        what_you_do=v.what_you_do,
        read_more_url=v.read_more_url,
        read_more_title=v.read_more_title,
        sources=[str(s) for s in v.sources],
    )


def question_content(item: VersionedLesson, links: Links, *, is_review: bool) -> QuestionContent:
    v = item.version
    return QuestionContent(
        lesson_key=item.key,
        lesson_title=v.title,
        question=v.question,
        options=list(v.options),
        answer_urls=[links.answer(item.key, i) for i in range(len(v.options))],
        is_review=is_review,
        original_lesson_url=links.view(item.key) if is_review else None,
    )


def load_versions(
    session: Session, pairs: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], VersionedLesson]:
    wanted = set(pairs)
    if not wanted:
        return {}
    rows = session.execute(
        select(Lesson.key, LessonVersion)
        .join(Lesson, Lesson.id == LessonVersion.lesson_id)
        .where(tuple_(LessonVersion.lesson_id, LessonVersion.content_hash).in_(list(wanted)))
    ).all()
    return {(v.lesson_id, v.content_hash): VersionedLesson(key, v) for key, v in rows}
