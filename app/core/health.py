from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.core.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/", include_in_schema=False)
def root() -> dict[str, str]:
    return {"service": "nanolearn", "docs": "/docs", "health": "/healthz"}


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(session: SessionDep) -> dict[str, str]:
    """Readiness: the database answers."""
    session.execute(text("SELECT 1"))
    return {"status": "ready"}
