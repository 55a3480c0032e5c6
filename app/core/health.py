"""Liveness, readiness and metrics: what a load balancer and Prometheus ask the process."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from app.core.metrics import exposition

router = APIRouter(tags=["health"])


@router.get("/", include_in_schema=False)
def root() -> dict[str, str]:
    return {"service": "nanolearn", "docs": "/docs", "health": "/healthz"}


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(request: Request) -> dict[str, str] | JSONResponse:
    """Readiness: the database answers and, where this process sends, the scheduler ticks."""
    reasons: list[str] = []
    try:
        with request.app.state.session_factory() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach it means the same: not ready
        reasons.append(f"the database does not answer ({type(exc).__name__})")
    services: Any = request.app.state.services
    if services is not None:
        problem = services.not_ready()
        if problem:
            reasons.append(problem)
    if reasons:
        body = {"status": "not ready", "reason": "; ".join(reasons), "reasons": reasons}
        return JSONResponse(body, status_code=503)
    return {"status": "ready"}


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus: this process's sending, and the outbox depth of its database."""
    body = exposition(request.app.state.metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
