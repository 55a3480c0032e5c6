"""The report downloads, with the dashboard's session instead of a Bearer key.

They go through the same code as GET /api/v1/reports/completion (app.reports.download: the
export is checked, recorded in the audit log under the signed-in key, then streamed in its own
session) and /api/v1/campaigns/{id}/learning, so a file from here is the file the API gives.
"""

from __future__ import annotations

from datetime import datetime

from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from app.campaigns.models import Campaign
from app.core.config import Settings
from app.dashboard.auth import User
from app.reports.download import ExportRequest, prepare_export, stream_export
from app.reports.export import ExportFormat, choose_separator
from app.reports.learning import learning_report
from app.reports.tables import ReportBy


def _attachment(filename: str) -> dict[str, str]:
    # Always an attachment (the API shows JSON inline): a download button should download.
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def completion_download(
    factory: sessionmaker[Session],
    session: Session,
    settings: Settings,
    user: User,
    wanted: tuple[int, ReportBy, ExportFormat],
    now: datetime,
) -> StreamingResponse:
    campaign_id, by, fmt = wanted
    # The dashboard is in Swedish: with "auto", CSV has semicolons, as Excel set to Swedish wants.
    request = ExportRequest(campaign_id, by, fmt, choose_separator(settings.report_csv_separator))
    export = prepare_export(
        session,
        request,
        actor=user,
        now=now,
        tz=settings.timezone_info,
        min_group=settings.report_min_group_size,
    )
    # As the API does: the audit entry is committed before the first byte, so a download that
    # breaks off is still on record, and the stream holds no write lock.
    session.commit()
    body = stream_export(factory, export)
    return StreamingResponse(body, media_type=fmt.media_type, headers=_attachment(export.filename))


def learning_download(
    session: Session, settings: Settings, campaign: Campaign, now: datetime
) -> Response:
    report = learning_report(session, campaign, settings.report_min_group_size)
    day = now.astimezone(settings.timezone_info).date()
    filename = f"larande-{campaign.id}-{day.isoformat()}.json"
    return Response(
        report.model_dump_json(), media_type="application/json", headers=_attachment(filename)
    )
