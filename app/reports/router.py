"""Report downloads for HR: streamed, so a large campaign never sits in memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from app.auth.deps import ReaderKey
from app.core.deps import ClockDep, SessionDep, SettingsDep
from app.reports.export import ExportFormat, export_chunks, report_filename
from app.reports.schemas import CompletionReport, ReportCampaign
from app.reports.service import campaign_or_404, completion_rows, report_campaign

router = APIRouter(tags=["reports"])

_COMPLETION_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "One row per employee enrolled in the campaign.",
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
    _key: ReaderKey,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    campaign: Annotated[int, Query(description="The campaign's id.")],
    fmt: Annotated[
        ExportFormat, Query(alias="format", description="csv (for Excel), xlsx or json.")
    ] = ExportFormat.csv,
) -> StreamingResponse:
    """Completion per employee in a campaign (sent, read, answered, opted out) for HR."""
    found = campaign_or_404(session, campaign)
    now = clock.now()
    tz = ZoneInfo(settings.timezone)
    header = report_campaign(session, found, now)
    filename = report_filename(campaign, now.astimezone(tz).date(), fmt)
    disposition = "inline" if fmt is ExportFormat.json else "attachment"
    body = _stream(request.app.state.session_factory, campaign, fmt, header, tz)
    return StreamingResponse(
        body,
        media_type=fmt.media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )


def _stream(
    factory: sessionmaker[Session],
    campaign_id: int,
    fmt: ExportFormat,
    header: ReportCampaign,
    tz: ZoneInfo,
) -> Iterator[bytes]:
    # Its own read-only session: the body is sent after the request's session is closed.
    with factory() as session:
        yield from export_chunks(fmt, header, completion_rows(session, campaign_id), tz)
