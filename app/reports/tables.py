"""What a completion report's rows are, per employee, department or lesson: the columns (Swedish
headers, XLSX widths, which are free text) and each row's cells, shared by every writer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from app.reports.groups import DepartmentRow, LessonRow
from app.reports.schemas import CompletionRowOut, DepartmentRowOut, LessonRowOut
from app.reports.service import CompletionRow

Cell = str | int | float | date | None


class ReportBy(StrEnum):
    employee = "employee"
    department = "department"
    lesson = "lesson"


@dataclass(frozen=True)
class Column:
    header: str
    width: int
    text: bool = False  # free text from people or files: guarded against formulas


@dataclass(frozen=True)
class Table:
    sheet: str
    file_stem: str
    columns: tuple[Column, ...]
    cells: Callable[[Any, ZoneInfo], tuple[Cell, ...]]
    model: type[BaseModel]  # the JSON shape of one row

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)

    def widths(self, longest: dict[str, int] | None = None) -> list[int]:
        """XLSX column widths: each column's own, widened to its longest text (by header)."""
        longest = longest or {}
        return [min(MAX_WIDTH, max(c.width, longest.get(c.header, 0) + 2)) for c in self.columns]


MAX_WIDTH = 80  # characters; a longer text wraps in Excel's formula bar, not the sheet


def _yes_no(value: bool) -> str:
    return "Ja" if value else "Nej"


def _employee_cells(row: CompletionRow, tz: ZoneInfo) -> tuple[Cell, ...]:
    opted_out_on = row.opted_out_at.astimezone(tz).date() if row.opted_out_at else None
    return (
        row.last_name,
        row.first_name,
        row.email or "",
        row.department,
        row.employee_number or "",
        row.lessons_sent,
        row.lessons_viewed,
        row.questions_answered,
        row.correct_first_attempt,
        _yes_no(row.opted_out),
        opted_out_on,
        row.completion_pct,
        row.bounced,
        row.bounce_reason,
    )


def _department_cells(row: DepartmentRow, _tz: ZoneInfo) -> tuple[Cell, ...]:
    return (
        row.department,
        row.employees,
        row.lessons_sent,
        row.lessons_viewed,
        row.questions_answered,
        row.correct_first_attempt,
        row.opted_out,
        row.completed_course,
        row.completion_pct,
        _yes_no(row.withheld),
    )


def _lesson_cells(row: LessonRow, _tz: ZoneInfo) -> tuple[Cell, ...]:
    return (
        row.position,
        row.title,
        row.lesson,
        row.sent,
        row.viewed,
        row.answered,
        row.correct_first_attempt,
        row.correct_first_pct,
        row.reviews,
        row.reviews_correct_pct,
        row.mastered,
    )


EMPLOYEE = Table(
    sheet="Genomförande",
    file_stem="genomforande",
    columns=(
        Column("Efternamn", 18, text=True),
        Column("Förnamn", 14, text=True),
        Column("E-post", 34, text=True),
        Column("Förvaltning", 26, text=True),
        Column("Anställningsnummer", 20, text=True),
        Column("Lektioner skickade", 18),
        Column("Lektioner lästa", 16),
        Column("Frågor besvarade", 17),
        Column("Rätt första försöket", 20),
        Column("Avanmäld", 10),
        Column("Avanmäld datum", 15),
        Column("Genomfört (%)", 14),
        Column("Studsade", 10),
        Column("Studsorsak", 40, text=True),
    ),
    cells=_employee_cells,
    model=CompletionRowOut,
)

DEPARTMENT = Table(
    sheet="Per förvaltning",
    file_stem="genomforande-forvaltning",
    columns=(
        Column("Förvaltning", 30, text=True),
        Column("Anställda", 11),
        Column("Lektioner skickade", 18),
        Column("Lektioner lästa", 16),
        Column("Frågor besvarade", 17),
        Column("Rätt första försöket", 20),
        Column("Avanmälda", 11),
        Column("Genomfört hela kursen", 21),
        Column("Genomfört (%)", 14),
        Column("Undanhållen (för få)", 20),
    ),
    cells=_department_cells,
    model=DepartmentRowOut,
)

LESSON = Table(
    sheet="Per lektion",
    file_stem="genomforande-lektion",
    columns=(
        Column("Nr", 5),
        Column("Lektion", 40, text=True),
        Column("Nyckel", 18, text=True),
        Column("Skickad till", 13),
        Column("Läst av", 10),
        Column("Besvarad av", 12),
        Column("Rätt första försöket", 20),
        Column("Rätt första försöket (%)", 24),
        Column("Repetitioner besvarade", 22),
        Column("Repetitioner rätt (%)", 21),
        Column("Inlärda", 9),
    ),
    cells=_lesson_cells,
    model=LessonRowOut,
)

TABLES = {ReportBy.employee: EMPLOYEE, ReportBy.department: DEPARTMENT, ReportBy.lesson: LESSON}
