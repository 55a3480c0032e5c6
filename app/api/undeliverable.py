"""GET /employees/undeliverable: the addresses bounces showed reach no one, as JSON or a CSV or
Excel file for HR to correct in their source system. Composes employees (who is marked) and
reports (the file writers), so it lives here; registered before /employees/{id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from app.auth.audit import record_audit
from app.auth.deps import EditorKey
from app.core.deps import ClockDep, SessionDep, SettingsDep
from app.reports.export import ExportFormat, choose_separator
from app.reports.undeliverable import (
    UndeliverableOut,
    filename,
    undeliverable_file,
    undeliverable_rows,
)

router = APIRouter(tags=["employees"])


@router.get(
    "/employees/undeliverable",
    response_model=list[UndeliverableOut],
    responses={200: {"content": {"text/csv": {}, ExportFormat.xlsx.media_type: {}}}},
)
def undeliverable_addresses(
    request: Request,
    key: EditorKey,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    format: Annotated[ExportFormat, Query(description="json, csv or xlsx")] = ExportFormat.json,
) -> Response:
    """Active employees marked undeliverable (one hard bounce or BOUNCE_SOFT_LIMIT soft ones),
    with the date and the bounce's reason. Correcting the address clears the mark."""
    now = clock.now()
    separator = choose_separator(
        settings.report_csv_separator, request.headers.get("accept-language")
    )
    people = undeliverable_rows(session)
    # A list of people and addresses leaving the system: on record, by count only.
    record_audit(
        session,
        actor=key,
        action="employees.undeliverable_export",
        now=now,
        rows=len(people),
        detail={"format": format.value},
    )
    session.commit()
    if format is ExportFormat.json:
        body = (
            b"["
            + b",".join(
                UndeliverableOut.model_validate(p).model_dump_json().encode() for p in people
            )
            + b"]"
        )
        return Response(body, media_type="application/json")
    day = now.astimezone(settings.timezone_info).date()
    return StreamingResponse(
        undeliverable_file(people, format, settings.timezone_info, separator),
        media_type=format.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename(format, day)}"'},
    )
