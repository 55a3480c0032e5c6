"""One completion export from request to last byte: check, audit, then stream in its own session.

Shared by the API, the command line and the benchmark, so they write the same bytes. The
summary (XLSX sheet, JSON key) comes after the rows: for the per-employee and per-department
reports its head counts are summed from the rows as they pass, which saves a second pass over
the campaign.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import ApiKey
from app.campaigns.models import Enrollment
from app.campaigns.service import get_campaign
from app.employees.models import Employee
from app.reports.audit import finish_export_audit, start_export_audit
from app.reports.export import (
    CsvSeparator,
    ExportFormat,
    csv_chunks,
    json_chunks,
    table_filename,
    xlsx_chunks,
)
from app.reports.groups import department_totals, lesson_rows, shown_departments
from app.reports.schemas import ReportCampaign, ReportSummary
from app.reports.service import completion_rows, is_postgres, report_campaign
from app.reports.summary import CampaignCounts, campaign_summary, summary_lines
from app.reports.tables import TABLES, ReportBy, Table


@dataclass(frozen=True)
class ExportRequest:
    campaign_id: int
    by: ReportBy = ReportBy.employee
    fmt: ExportFormat = ExportFormat.csv
    separator: CsvSeparator = CsvSeparator.comma


@dataclass(frozen=True)
class PreparedExport:
    request: ExportRequest
    header: ReportCampaign
    enrolled: int
    tz: ZoneInfo
    min_group: int
    audit_id: int

    @property
    def table(self) -> Table:
        return TABLES[self.request.by]

    @property
    def filename(self) -> str:
        day = self.header.generated_at.astimezone(self.tz).date()
        return table_filename(self.table, self.request.campaign_id, day, self.request.fmt)


@dataclass
class RowCounter:
    rows: int = 0
    on_row: Callable[[], None] | None = None

    def count(self, rows: Iterable[Any]) -> Iterator[Any]:
        for row in rows:
            yield row
            self.rows += 1
            if self.on_row is not None:
                self.on_row()


def prepare_export(
    session: Session,
    request: ExportRequest,
    *,
    actor: ApiKey | str | None,
    now: datetime,
    tz: ZoneInfo,
    min_group: int,
) -> PreparedExport:
    """Raises ProblemError(404) for an unknown campaign, before anything is recorded."""
    campaign = get_campaign(session, request.campaign_id, parameter="campaign")
    enrolled = session.scalar(
        select(func.count(Enrollment.id)).where(Enrollment.campaign_id == campaign.id)
    )
    audit_id = start_export_audit(
        session,
        actor=actor,
        name="completion",
        now=now,
        campaign_id=campaign.id,
        detail={"by": request.by.value, "format": request.fmt.value},
    )
    header = report_campaign(session, campaign, now)
    return PreparedExport(request, header, enrolled or 0, tz, min_group, audit_id)


@dataclass
class _Rows:
    """A report's rows, its summary for after them, and its longest texts (for XLSX widths)."""

    rows: Iterable[Any]
    summary: Callable[[], ReportSummary]
    longest: dict[str, int] | None = None


def _longest_of_people(session: Session, campaign_id: int) -> dict[str, int]:
    """The longest name, address, department and number among the campaign's people: the
    XLSX columns are sized before the rows stream out."""
    columns = {
        "Efternamn": Employee.last_name,
        "Förnamn": Employee.first_name,
        "E-post": Employee.email,
        "Förvaltning": Employee.department,
        "Anställningsnummer": Employee.employee_number,
    }
    row = session.execute(
        select(*(func.max(func.length(c)) for c in columns.values()))
        .join(Enrollment, Enrollment.employee_id == Employee.id)
        .where(Enrollment.campaign_id == campaign_id)
    ).one()
    return {header: int(n or 0) for header, n in zip(columns, row, strict=True)}


def _report(session: Session, export: PreparedExport) -> _Rows:
    campaign = get_campaign(session, export.request.campaign_id, parameter="campaign")
    counts = CampaignCounts()
    by = export.request.by
    if by is ReportBy.employee:
        lessons = export.header.lessons_in_course

        def people() -> Iterator[Any]:
            for row in completion_rows(session, campaign.id):
                counts.add_person(row, lessons)
                yield row

        longest = (
            _longest_of_people(session, campaign.id)
            if export.request.fmt is ExportFormat.xlsx
            else None
        )
        return _Rows(people(), lambda: campaign_summary(session, campaign, counts), longest)
    if by is ReportBy.department:
        totals = department_totals(session, campaign)
        for group in totals:
            counts.add_department(group)
        rows = shown_departments(session, campaign, totals, export.min_group)
        names = {"Förvaltning": max((len(r.department) for r in rows), default=0)}
        return _Rows(rows, lambda: campaign_summary(session, campaign, counts), names)
    by_lesson = lesson_rows(session, campaign)
    titles = {
        "Lektion": max((len(r.title) for r in by_lesson), default=0),
        "Nyckel": max((len(r.lesson) for r in by_lesson), default=0),
    }
    return _Rows(by_lesson, lambda: campaign_summary(session, campaign), titles)


def _chunks(export: PreparedExport, report: _Rows, rows: Iterable[Any]) -> Iterator[bytes]:
    request, table, tz = export.request, export.table, export.tz
    if request.fmt is ExportFormat.csv:
        return csv_chunks(table, rows, tz, request.separator)
    if request.fmt is ExportFormat.xlsx:
        return xlsx_chunks(
            table,
            rows,
            tz,
            lambda: summary_lines(export.header, report.summary(), tz),
            table.widths(report.longest),
        )
    return json_chunks(request.by, table, export.header, rows, report.summary)


def stream_export(
    factory: sessionmaker[Session], export: PreparedExport, counter: RowCounter | None = None
) -> Iterator[bytes]:
    """The file's bytes; the audit entry gets its row count once the last byte is out."""
    counter = counter or RowCounter()
    # Its own read-only session: the body is sent while the request's session is still open.
    with factory() as session:
        if is_postgres(session):
            # Compiling these one-off aggregates costs PostgreSQL more than it saves (~1 s).
            session.execute(text("SET LOCAL jit = off"))
        report = _report(session, export)
        yield from _chunks(export, report, counter.count(report.rows))
    finish_export_audit(factory, export.audit_id, counter.rows)
