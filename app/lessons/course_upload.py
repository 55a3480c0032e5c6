"""Courses a project leader uploads: parse → check → plan (a dry run) → publish, and export.

A ZIP of a course folder or a workbook from the template becomes course files in memory, which
the one lesson checker (app.lessons.loader) reads exactly as it reads the lessons folder. Every
problem keeps its place: file:line for a ZIP, sheet/row/column for a workbook. Nothing is
written unless the whole course is right (`publish` refuses a plan with errors).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from pathlib import PurePosixPath
from typing import Any, Literal

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.lessons.course_files import CourseFile, LessonFile, LoadResult
from app.lessons.loader import load_tree
from app.lessons.models import Course, CourseOrigin, Lesson
from app.lessons.problems import Problem
from app.lessons.service import SyncReport, get_course, moved_keys, sync_course
from app.lessons.sources import MemoryTree
from app.lessons.upload_guard import DEFAULT_LIMITS, Limits, UploadRefused, read_zip
from app.lessons.workbook import Cell, WorkbookFiles, course_workbook, read_workbook

Kind = Literal["zip", "xlsx"]
IGNORED_PARTS = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")


@dataclass(frozen=True)
class ImportIssue:
    """One problem of an upload, with where it is and (in the message) how to fix it."""

    message: str
    severity: Literal["error", "warning"] = "error"
    file: str | None = None
    line: int | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "line": self.line, "sheet": self.sheet, "row": self.row,
            "column": self.column, "message": self.message,
        }  # fmt: skip


@dataclass
class ParsedCourse:
    """An upload read and checked by the lesson checker, not yet compared with the database."""

    filename: str
    kind: Kind
    result: LoadResult
    issues: list[ImportIssue]
    cells: WorkbookFiles | None = None  # a workbook: the cell behind every generated line

    @property
    def course(self) -> CourseFile | None:
        """The one course, when the upload holds exactly one without errors."""
        ok = not any(i.severity == "error" for i in self.issues)
        return self.result.courses[0] if ok and len(self.result.courses) == 1 else None

    def locate(self, problem: Problem) -> ImportIssue:
        path = str(problem.path)
        if self.cells is None:
            return ImportIssue(problem.message, problem.severity, file=path, line=problem.line)
        cell = self.cells.locate(path, problem.line) or Cell("Lektioner")
        return ImportIssue(
            _cell_message(self.cells, problem.message), problem.severity,
            sheet=cell.sheet, row=cell.row, column=cell.column,
        )  # fmt: skip


def _cell_message(cells: WorkbookFiles, message: str) -> str:
    """Messages that point at another generated file:line point at its cell instead."""

    def replace(match: re.Match[str]) -> str:
        cell = cells.locate(match.group(1), int(match.group(2)))
        return f"bladet {cell.sheet} rad {cell.row}" if cell and cell.row else match.group(0)

    return re.sub(r"(\S+\.md):(\d+)", replace, message)


def _zip_tree(filename: str, files: dict[str, bytes]) -> tuple[dict[str, bytes], list[str]]:
    """Course files as slug/name, and files that are not part of the course (skipped)."""
    kept: dict[str, bytes] = {}
    skipped: list[str] = []
    for name, data in files.items():
        parts = PurePosixPath(name).parts
        if any(part in IGNORED_PARTS or part.startswith("._") for part in parts):
            continue
        kept["/".join(parts)] = data
    if any("/" not in name and name in ("course.yaml", "course.yml") for name in kept):
        # The files were zipped without their folder: the ZIP's name is the course's address.
        slug = PurePosixPath(filename).stem or "kurs"
        kept = {f"{slug}/{name}": data for name, data in kept.items()}
    for name in [n for n in kept if n.count("/") != 1]:
        skipped.append(name)
    return kept, skipped


def _parse_zip(filename: str, data: bytes, limits: Limits) -> ParsedCourse:
    files, skipped = _zip_tree(filename, read_zip(data, limits))
    result = load_tree(MemoryTree(files))
    parsed = ParsedCourse(filename, "zip", result, [])
    parsed.issues = [parsed.locate(p) for p in result.problems]
    parsed.issues += [
        ImportIssue(
            "filen ligger utanför kursmappen eller i en undermapp och hoppas över",
            "warning",
            file=name,
        )
        for name in skipped
        if name.count("/") > 1 or name.endswith((".md", ".yaml"))
    ]
    if result.course_folders > 1:
        slugs = sorted({p.parts[0] for p in map(PurePosixPath, files) if len(p.parts) == 2})
        parsed.issues.insert(
            0,
            ImportIssue(
                f"ZIP-filen innehåller {result.course_folders} kurser ({', '.join(slugs)}): "
                "ladda upp en kurs åt gången",
                file=filename,
            ),
        )
    return parsed


def _parse_xlsx(filename: str, data: bytes, limits: Limits) -> ParsedCourse:
    cells = read_workbook(data, limits)
    issues = [
        ImportIssue(message, sheet=cell.sheet, row=cell.row, column=cell.column)
        for cell, message in cells.problems
    ]
    result = load_tree(MemoryTree(cells.files)) if cells.files else LoadResult(PurePosixPath())
    parsed = ParsedCourse(filename, "xlsx", result, issues, cells)
    # Workbook problems first; then the checker's, leaving out what they already said.
    known = {(i.sheet, i.row, i.column) for i in issues}
    for problem in result.problems:
        issue = parsed.locate(problem)
        if (issue.sheet, issue.row, issue.column) not in known or issue.severity == "warning":
            parsed.issues.append(issue)
    return parsed


def parse_upload(filename: str, data: bytes, limits: Limits = DEFAULT_LIMITS) -> ParsedCourse:
    """Read and check an uploaded .zip or .xlsx; a file that cannot be read safely is one
    error (the upload guard's), never an exception."""
    kind: Kind | None = (
        "zip" if filename.lower().endswith(".zip")
        else "xlsx" if filename.lower().endswith(".xlsx") else None
    )  # fmt: skip
    if kind is None:
        issue = ImportIssue(
            "skicka en .zip med kursmappen eller en .xlsx från mallen", file=filename
        )
        return ParsedCourse(filename, "zip", LoadResult(PurePosixPath()), [issue])
    try:
        return (_parse_zip if kind == "zip" else _parse_xlsx)(filename, data, limits)
    except UploadRefused as exc:
        issue = ImportIssue(exc.message, file=exc.file or filename)
        return ParsedCourse(filename, kind, LoadResult(PurePosixPath()), [issue])


# --- against the database ------------------------------------------------------------------


@dataclass
class ImportPlan:
    """What publishing the upload would do; `errors` empty means it may be published."""

    upload: ParsedCourse
    course: str | None = None
    course_created: bool = False
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "course": self.course, "course_created": self.course_created,
            "created": self.created, "changed": self.changed, "unchanged": self.unchanged,
            "removed": self.removed, "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
        }  # fmt: skip


def plan_import(session: Session, upload: ParsedCourse) -> ImportPlan:
    """Compare an upload with the database: which lessons are new, changed, unchanged or gone,
    and what the database forbids (a folder course's address, ids of other courses)."""
    plan = ImportPlan(upload)
    plan.errors = [i for i in upload.issues if i.severity == "error"]
    plan.warnings = [i for i in upload.issues if i.severity == "warning"]
    source = upload.course
    if source is None:
        return plan
    plan.course = source.slug
    existing = session.scalar(select(Course).where(Course.slug == source.slug))
    if existing is not None and existing.origin != CourseOrigin.upload:
        message = (
            f"kursen {source.slug!r} kommer från lessons-mappen och kan inte ersättas av en "
            "uppladdning: välj ett annat kortnamn"
        )
        plan.errors.append(upload.locate(Problem(source.path, None, message)))
        return plan
    plan.errors += [upload.locate(p) for p in moved_keys(session, [source])]
    plan.course_created = existing is None
    hashes = {}
    if existing is not None:
        rows = session.execute(
            select(Lesson.key, Lesson.content_hash, Lesson.position).where(
                Lesson.course_id == existing.id
            )
        ).all()
        hashes = {key: content_hash for key, content_hash, position in rows if position}
    for lesson in source.lessons:
        known = hashes.pop(lesson.key, None)
        target = plan.created if known is None else plan.unchanged
        (plan.changed if known not in (None, lesson.content_hash) else target).append(lesson.key)
    plan.removed = sorted(hashes)
    return plan


class CourseImportInvalid(Exception):
    def __init__(self, plan: ImportPlan) -> None:
        super().__init__(f"{len(plan.errors)} error(s)")
        self.plan = plan


def publish(session: Session, plan: ImportPlan, now: datetime) -> SyncReport:
    """Write the planned course (origin: upload); refuses a plan with errors."""
    source = plan.upload.course
    if plan.errors or source is None:
        raise CourseImportInvalid(plan)
    course = session.scalar(select(Course).where(Course.slug == source.slug))
    report = SyncReport()
    sync_course(session, source, course, report, now, origin=CourseOrigin.upload)
    session.flush()
    return report


# --- export --------------------------------------------------------------------------------


def course_from_db(session: Session, slug: str) -> CourseFile | None:
    """A course as it reads now, in the shape of course files (to export it)."""
    detail = get_course(session, slug)
    if detail is None:
        return None
    course = detail.course
    folder = PurePosixPath(slug)
    lessons = [
        LessonFile(
            key=lesson.key,
            file_name=f"{lesson.key}.md",
            path=folder / f"{lesson.key}.md",
            id_line=2,
            title=v.title,
            key_point=v.key_point,
            body_md=v.body_md,
            what_you_do=v.what_you_do,
            question=v.question,
            options=list(v.options),
            correct_index=v.correct_index,
            explanation=v.explanation,
            read_more_url=v.read_more_url,
            read_more_title=v.read_more_title,
            sources=[str(s) for s in v.sources],
        )
        for lesson, v in detail.lessons
    ]
    return CourseFile(
        slug=course.slug, path=folder, title=course.title, description=course.description,
        language=course.language, topic=course.topic, help=course.help_text, lessons=lessons,
    )  # fmt: skip


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _dump(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def _lesson_markdown(lesson: LessonFile) -> str:
    options: list[dict[str, Any]] = [
        {"text": text, **({"correct": True} if i == lesson.correct_index else {})}
        for i, text in enumerate(lesson.options)
    ]
    front: dict[str, Any] = {
        "id": lesson.key, "title": lesson.title, "key_point": lesson.key_point,
        "what_you_do": lesson.what_you_do,
        "quiz": {"question": lesson.question, "options": options, "explanation": lesson.explanation},
    }  # fmt: skip
    if lesson.read_more_url:
        front["read_more"] = {"title": lesson.read_more_title or "", "url": lesson.read_more_url}
    front["sources"] = list(lesson.sources)
    return f"---\n{_dump(front)}---\n{lesson.body_md}\n"


def course_zip(course: CourseFile) -> bytes:
    """The course as a ZIP of its folder, in the documented format (docs/lesson-format.md)."""
    head: dict[str, Any] = {
        "title": course.title, "description": course.description, "language": course.language,
        "topic": course.topic, "help": course.help,
        "lessons": [lesson.key for lesson in course.lessons],
    }  # fmt: skip
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{course.slug}/course.yaml", _dump(head))
        for lesson in course.lessons:
            archive.writestr(f"{course.slug}/{lesson.key}.md", _lesson_markdown(lesson))
    return out.getvalue()


def export_course(session: Session, slug: str, fmt: Literal["zip", "xlsx"]) -> bytes | None:
    """The course as a ZIP or a workbook that imports again unchanged; None if unknown."""
    course = course_from_db(session, slug)
    if course is None:
        return None
    return course_zip(course) if fmt == "zip" else course_workbook(course)
