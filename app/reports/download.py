"""One completion export from request to last byte: check, audit, then stream in its own session.

Shared by the API, the command line and the benchmark, so they write the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import ApiKey
from app.reports.audit import finish_export_audit, start_export_audit
from app.reports.export import (
    CsvSeparator,
    ExportFormat,
    csv_chunks,
    json_chunks,
    table_filename,
    xlsx_chunks,
)
from app.reports.groups import department_rows, lesson_rows
from app.reports.schemas import ReportCampaign, ReportSummary
from app.reports.service import campaign_or_404, completion_rows, report_campaign
from app.reports.summary import campaign_summary, summary_lines
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
    summary: ReportSummary | None  # CSV has no place for it
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
    campaign = campaign_or_404(session, request.campaign_id)
    summary = campaign_summary(session, campaign) if request.fmt is not ExportFormat.csv else None
    audit_id = start_export_audit(
        session,
        actor=actor,
        name="completion",
        now=now,
        campaign_id=campaign.id,
        detail={"by": request.by.value, "format": request.fmt.value},
    )
    header = report_campaign(session, campaign, now)
    return PreparedExport(request, header, summary, tz, min_group, audit_id)


def report_rows(session: Session, export: PreparedExport) -> Iterable[Any]:
    campaign_id = export.request.campaign_id
    if export.request.by is ReportBy.employee:
        return completion_rows(session, campaign_id)
    campaign = campaign_or_404(session, campaign_id)
    if export.request.by is ReportBy.department:
        return department_rows(session, campaign, export.min_group)
    return lesson_rows(session, campaign)


def export_chunks(export: PreparedExport, rows: Iterable[Any]) -> Iterator[bytes]:
    request, table = export.request, export.table
    if request.fmt is ExportFormat.csv:
        return csv_chunks(table, rows, export.tz, request.separator)
    assert export.summary is not None
    if request.fmt is ExportFormat.xlsx:
        lines = summary_lines(export.header, export.summary, export.tz)
        return xlsx_chunks(table, rows, export.tz, lines)
    return json_chunks(request.by, table, export.header, export.summary, rows)


def stream_export(
    factory: sessionmaker[Session], export: PreparedExport, counter: RowCounter | None = None
) -> Iterator[bytes]:
    """The file's bytes; the audit entry gets its row count once the last byte is out."""
    counter = counter or RowCounter()
    # Its own read-only session: the body is sent while the request's session is still open.
    with factory() as session:
        yield from export_chunks(export, counter.count(report_rows(session, export)))
    finish_export_audit(factory, export.audit_id, counter.rows)
