"""The staff pages: the list with search and pages, the dry run of an import, one person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.campaigns.service import department_sizes
from app.dashboard.formatting import long_date, number
from app.employees.importer import RowError
from app.employees.models import Employee
from app.employees.service import list_employees
from app.employees.staff_import import ImportResult, PlannedChange

PAGE_SIZE = 25
ERRORS_SHOWN = 200
MODES = {
    "upsert": "Lägg till och uppdatera",
    "sync": "Hela personalen (synka)",
}
_KINDS = {"create": "Läggs till", "update": "Ändras", "deactivate": "Avslutas"}
_TZ = ZoneInfo("Europe/Stockholm")


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str
    email: str
    department: str
    status: str
    active: bool


@dataclass(frozen=True)
class StaffList:
    rows: list[PersonRow]
    total: str
    q: str
    department: str
    departments: list[tuple[str, str]]  # (name, "name (12)")
    shown: str  # "1–25 av 130"
    previous: str | None
    next: str | None


def person_row(employee: Employee) -> PersonRow:
    return PersonRow(
        id=employee.id,
        name=employee.full_name or "(namn saknas)",
        email=employee.email or "",
        department=employee.department or "–",
        status="Aktiv" if employee.active else "Avslutad",
        active=employee.active,
    )


def _page_link(q: str, department: str, page: int) -> str:
    wanted = {k: v for k, v in (("q", q), ("department", department)) if v}
    if page > 1:
        wanted["page"] = str(page)
    return "/dashboard/staff" + (f"?{urlencode(wanted)}" if wanted else "")


def staff_list(session: Session, q: str, department: str, page: int) -> StaffList:
    page = max(page, 1)
    people, total = list_employees(
        session,
        department=department or None,
        q=q or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    first = (page - 1) * PAGE_SIZE + 1
    last = first + len(people) - 1
    return StaffList(
        rows=[person_row(e) for e in people],
        total=number(total),
        q=q,
        department=department,
        departments=[(d, f"{d} ({number(n)})") for d, n in department_sizes(session).items()],
        shown=f"{number(first)}–{number(last)} av {number(total)}" if people else "",
        previous=_page_link(q, department, page - 1) if page > 1 else None,
        next=_page_link(q, department, page + 1) if last < total else None,
    )


@dataclass(frozen=True)
class ErrorRow:
    row: str
    field: str
    message: str


@dataclass(frozen=True)
class ChangeRow:
    kind: str
    kind_key: str
    row: str
    name: str
    email: str
    department: str
    fields: str


@dataclass(frozen=True)
class DryRun:
    filename: str
    mode: str
    mode_label: str
    created: str
    updated: str
    deactivated: str
    unchanged: str
    changes: list[ChangeRow]
    more: bool  # some people are not listed (the counts are complete)
    warnings: list[str]


def error_rows(errors: list[RowError]) -> tuple[list[ErrorRow], int]:
    """The first ERRORS_SHOWN errors, and how many more there are."""
    rows = [
        ErrorRow(
            row="Hela filen" if e.row is None else str(e.row),
            field=e.field,
            message=e.message,
        )
        for e in errors[:ERRORS_SHOWN]
    ]
    return rows, max(len(errors) - ERRORS_SHOWN, 0)


def _change_row(change: PlannedChange) -> ChangeRow:
    return ChangeRow(
        kind=_KINDS[change.kind],
        kind_key=change.kind,
        row="" if change.row is None else str(change.row),
        name=change.name or "(namn saknas)",
        email=change.email or "",
        department=change.department or "–",
        fields=", ".join(change.fields),
    )


def dry_run(result: ImportResult, filename: str) -> DryRun:
    listed = len(result.planned)
    return DryRun(
        filename=filename,
        mode=result.mode,
        mode_label=MODES[result.mode],
        created=number(result.created),
        updated=number(result.updated),
        deactivated=number(result.deactivated),
        unchanged=number(result.unchanged),
        changes=[_change_row(c) for c in result.planned],
        more=listed < result.created + result.updated + result.deactivated,
        warnings=list(result.warnings),
    )


def when(moment: datetime | None) -> str:
    return long_date(moment.astimezone(_TZ).date()) if moment else "–"
