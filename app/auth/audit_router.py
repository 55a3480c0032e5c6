"""The audit log for admins: who changed or exported what, when, and how many rows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from app.auth.audit import list_audit
from app.auth.deps import AdminKey
from app.core.deps import SessionDep

router = APIRouter(prefix="/audit", tags=["audit"])

MAX_PAGE = 500


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    rows: int | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    limit: int
    offset: int


@router.get("")
def read_audit(
    session: SessionDep,
    _: AdminKey,
    action: Annotated[
        str | None,
        Query(max_length=64, description="Only actions starting with this, e.g. campaigns."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> AuditPage:
    """The audit log, newest first, optionally only the actions that start with a prefix."""
    entries = list_audit(session, action=action, limit=limit, offset=offset)
    return AuditPage(
        items=[AuditEntryOut.model_validate(e) for e in entries], limit=limit, offset=offset
    )
