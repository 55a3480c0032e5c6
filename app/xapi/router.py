"""GET /api/v1/reports/xapi: a campaign's activity as xAPI statements, for a learning platform."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from app.auth.deps import ReaderKey
from app.campaigns.service import get_campaign
from app.core.deps import ClockDep, SessionDep, SettingsDep
from app.reports.audit import finish_export_audit, start_export_audit
from app.reports.download import RowCounter
from app.xapi.ids import Identity
from app.xapi.sources import Window
from app.xapi.stream import json_array_chunks, statements

router = APIRouter(tags=["reports"])


@router.get(
    "/reports/xapi",
    response_class=StreamingResponse,
    responses={
        200: {"description": "A JSON array of xAPI 1.0.3 statements, oldest first."},
        404: {"description": "No such campaign."},
    },
)
def xapi_statements(
    key: ReaderKey,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    campaign: Annotated[int, Query(description="The campaign's id.")],
) -> StreamingResponse:
    """A campaign's views, answers, mastered questions and completions as xAPI statements."""
    get_campaign(session, campaign, parameter="campaign")
    audit_id = start_export_audit(
        session, actor=key, name="xapi", now=clock.now(), campaign_id=campaign, detail={}
    )
    # Commit now: the entry must exist even if the download breaks off (see reports.router).
    session.commit()
    body = _stream(
        request.app.state.session_factory, campaign, Identity.from_settings(settings), audit_id
    )
    return StreamingResponse(body, media_type="application/json")


def _stream(
    factory: sessionmaker[Session], campaign_id: int, ident: Identity, audit_id: int
) -> Iterator[bytes]:
    counter = RowCounter()
    with factory() as session:
        found = statements(session, Window(campaign_id=campaign_id), ident)
        yield from json_array_chunks(counter.count(found))
    finish_export_audit(factory, audit_id, counter.rows)
