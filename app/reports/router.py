"""Report downloads for HR: streamed, so a large campaign never sits in memory."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from app.auth.deps import ReaderKey
from app.core.deps import ClockDep, SessionDep, SettingsDep
from app.reports.download import ExportRequest, prepare_export, stream_export
from app.reports.export import CsvSeparator, ExportFormat, choose_separator
from app.reports.schemas import CompletionReport
from app.reports.tables import ReportBy

router = APIRouter(tags=["reports"])

_COMPLETION_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "One row per employee, department or lesson of the campaign.",
        "model": CompletionReport,
        "content": {"text/csv": {}, ExportFormat.xlsx.media_type: {}},
    },
    404: {"description": "No such campaign."},
    422: {"description": "Invalid parameter, e.g. an unknown format."},
}


@router.get(
    "/reports/completion",
    response_class=StreamingResponse,
    responses=_COMPLETION_RESPONSES,
)
def completion_report(
    key: ReaderKey,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    campaign: Annotated[int, Query(description="The campaign's id.")],
    by: Annotated[
        ReportBy, Query(description="One row per employee, department or lesson.")
    ] = ReportBy.employee,
    fmt: Annotated[
        ExportFormat, Query(alias="format", description="xlsx (for Excel), csv or json.")
    ] = ExportFormat.xlsx,
    separator: Annotated[
        CsvSeparator | None,
        Query(
            description="CSV only: comma, or semicolon for Excel set to Swedish. Without it, "
            "the caller's Accept-Language decides (semicolon for sv, da, de …; comma for en)."
        ),
    ] = None,
) -> StreamingResponse:
    """Completion per employee, department or lesson of a campaign, for HR and project leaders."""
    chosen = separator or choose_separator(
        settings.report_csv_separator, request.headers.get("accept-language")
    )
    wanted = ExportRequest(campaign, by, fmt, chosen)
    export = prepare_export(
        session,
        wanted,
        actor=key,
        now=clock.now(),
        tz=settings.timezone_info,
        min_group=settings.report_min_group_size,
    )
    # Commit now: the audit entry must exist even if the download breaks off, and the long
    # stream must not hold this session's write lock (SQLite) while it runs.
    session.commit()
    disposition = "inline" if fmt is ExportFormat.json else "attachment"
    return StreamingResponse(
        stream_export(request.app.state.session_factory, export),
        media_type=fmt.media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{export.filename}"'},
    )
