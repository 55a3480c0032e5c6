"""A course folder as read and checked: its course.yaml, its lesson files, what was found wrong."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, ConfigDict

from app.lessons.problems import Problem

CONTENT_FIELDS = {
    "title", "key_point", "body_md", "what_you_do", "question", "options",
    "correct_index", "explanation", "read_more_url", "read_more_title", "sources",
}  # fmt: skip


def _sha256_json(content: Any) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class LessonFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    file_name: str
    path: PurePath
    id_line: int
    title: str
    key_point: str
    body_md: str
    what_you_do: str
    question: str
    options: list[str]
    correct_index: int
    explanation: str
    read_more_url: str | None = None
    read_more_title: str | None = None
    sources: list[str]

    @property
    def content_hash(self) -> str:
        """Identifies what a lesson says; deliveries and answers point at it."""
        return _sha256_json(self.model_dump(include=CONTENT_FIELDS))


class CourseFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    slug: str
    path: PurePath
    title: str
    description: str = ""
    language: str
    topic: str = "other"
    help: str = ""
    lessons: list[LessonFile]

    @property
    def content_hash(self) -> str:
        fields = self.model_dump(include={"title", "description", "language", "topic", "help"})
        return _sha256_json({**fields, "lessons": [lesson.key for lesson in self.lessons]})


@dataclass
class LoadResult:
    root: PurePath
    courses: list[CourseFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    course_folders: int = 0
    lesson_files: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors
