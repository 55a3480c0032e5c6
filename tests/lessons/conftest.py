"""Lesson folders written into tmp_path: a valid template and helpers to break one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.lessons.loader import load_courses

FIXTURES = Path(__file__).parent / "fixtures"

# Line numbers matter: tests assert `file:line` against this exact layout.
LESSON = """\
---
id: {key}
title: Rubrik
key_point: En mening att minnas.
what_you_do: Gör så här på jobbet.
quiz:
  question: Vilket är rätt?
  options:
    - text: Rätt svar här
      correct: true
    - text: Fel svar här
    - text: Annat fel svar
  explanation: Därför är det rätt.
read_more:
  title: Mer att läsa
  url: https://example.org/sida
sources:
  - En källa
---
Lektionstext här.
"""

COURSE = """\
title: Testkurs
description: En kurs för tester.
language: sv
topic: extremism
lessons:
{lessons}
"""


def lesson_text(key: str = "t-01", replace: dict[str, str] | None = None) -> str:
    text = LESSON.format(key=key)
    for old, new in (replace or {}).items():
        assert old in text, f"template has no {old!r}"
        text = text.replace(old, new, 1)
    return text


def write_course(
    root: Path,
    slug: str = "kurs",
    lessons: dict[str, str] | None = None,
    course_yaml: str | None = None,
) -> Path:
    """A course folder; lessons maps file stem to text (default: one valid lesson)."""
    lessons = {"01-forsta": lesson_text()} if lessons is None else lessons
    folder = root / slug
    folder.mkdir(parents=True)
    listing = "\n".join(f"  - {name}" for name in lessons)
    (folder / "course.yaml").write_text(
        course_yaml if course_yaml is not None else COURSE.format(lessons=listing),
        encoding="utf-8",
    )
    for name, text in lessons.items():
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
    return folder


def rendered(root: Path, bundled: bool = False) -> list[str]:
    """Every problem as printed, with paths relative to root so tests read easily."""
    result = load_courses(root, bundled=bundled)
    return [str(p).replace(f"{root}/", "") for p in result.problems]


@pytest.fixture
def lessons_root(tmp_path: Path) -> Path:
    """A copy of the valid fixture course that a test may change."""
    root = tmp_path / "lessons"
    shutil.copytree(FIXTURES / "valid", root)
    return root
