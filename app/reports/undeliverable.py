"""The list of addresses that reach no one, for HR to correct in their source system: who, the
address, since when and why (the bounce's reason). Same writers as the completion reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from app.employees.deliverability import undeliverable
from app.reports.export import CsvSeparator, ExportFormat, csv_chunks
from app.reports.tables import Cell, Column, Table
from app.reports.xlsx import xlsx_chunks


class UndeliverableOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    first_name: str
    last_name: str
    email: str | None
    department: str
    employee_number: str | None
    undeliverable_at: datetime | None
    undeliverable_reason: str | None


def _cells(e: UndeliverableOut, tz: ZoneInfo) -> tuple[Cell, ...]:
    since = e.undeliverable_at.astimezone(tz).date() if e.undeliverable_at else None
    return (
        f"{e.first_name} {e.last_name}".strip(),
        e.email or "",
        e.department,
        e.employee_number or "",
        since,
        e.undeliverable_reason or "",
    )


UNDELIVERABLE = Table(
    sheet="Studsade adresser",
    file_stem="studsade-adresser",
    columns=(
        Column("Namn", 28, text=True),
        Column("E-post", 34, text=True),
        Column("Förvaltning", 26, text=True),
        Column("Anställningsnummer", 20, text=True),
        Column("Studsar sedan", 15),
        Column("Orsak", 60, text=True),
    ),
    cells=_cells,
    model=UndeliverableOut,
)


def undeliverable_rows(session: Session) -> list[UndeliverableOut]:
    """The marked people, read out of the session (the file streams after it commits)."""
    return [UndeliverableOut.model_validate(e) for e in undeliverable(session)]


def undeliverable_file(
    people: list[UndeliverableOut], fmt: ExportFormat, tz: ZoneInfo, separator: CsvSeparator
) -> Iterator[bytes]:
    """The file's bytes (CSV or XLSX)."""
    if fmt is ExportFormat.xlsx:
        return xlsx_chunks(UNDELIVERABLE, people, tz)
    return csv_chunks(UNDELIVERABLE, people, tz, separator)


def filename(fmt: ExportFormat, day: date) -> str:
    return f"{UNDELIVERABLE.file_stem}-{day.isoformat()}.{fmt.value}"
