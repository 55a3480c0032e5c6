from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, JSONType


class CourseOrigin(StrEnum):
    folder = "folder"  # the lessons folder on disk (NANOLEARN_LESSONS_DIR), synced at start-up
    upload = "upload"  # a ZIP or workbook a project leader uploaded; lives only in the database


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="sv")
    # Shown in every e-mail of the course, e.g. where to get help.
    help_text: Mapped[str] = mapped_column(Text, default="")
    topic: Mapped[str] = mapped_column(String(16), default="other", server_default="other")
    content_hash: Mapped[str] = mapped_column(String(64))
    synced_at: Mapped[datetime]
    # Where the course comes from: a folder sync never touches an uploaded course and an upload
    # never replaces a folder course.
    origin: Mapped[CourseOrigin] = mapped_column(
        String(16), default=CourseOrigin.folder, server_default=CourseOrigin.folder.value
    )


class Lesson(Base):
    """A lesson's identity and place in its course; its content lives in LessonVersion."""

    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    # None when the lesson was removed from course.yaml; kept so old deliveries stay readable.
    position: Mapped[int | None]
    content_hash: Mapped[str] = mapped_column(String(64))


class LessonVersion(Base):
    """What one version of a lesson said, so answers are graded against what was sent."""

    __tablename__ = "lesson_versions"
    __table_args__ = (UniqueConstraint("lesson_id", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    key_point: Mapped[str] = mapped_column(Text)
    body_md: Mapped[str] = mapped_column(Text)
    what_you_do: Mapped[str] = mapped_column(Text)
    question: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSONType())
    correct_index: Mapped[int]
    explanation: Mapped[str] = mapped_column(Text)
    read_more_url: Mapped[str | None] = mapped_column(String(500))
    read_more_title: Mapped[str | None] = mapped_column(String(200))
    sources: Mapped[list[Any]] = mapped_column(JSONType())
    created_at: Mapped[datetime]
