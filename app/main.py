"""The FastAPI application: admin API under /api/v1, public lesson pages, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.core.errors import install_error_handlers
from app.core.runtime import Runtime

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(runtime: Runtime | None = None, *, background: bool = False) -> FastAPI:
    """Build the app; with background=True it also runs the scheduler (and dev mail catcher)."""
    runtime = runtime or Runtime.create()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not background:
            yield
            return
        from app.delivery.jobs import BackgroundServices

        services = BackgroundServices(runtime)
        await services.start()
        app.state.services = services
        try:
            yield
        finally:
            await services.stop()

    app = FastAPI(
        title="Nanolearn",
        version="0.1.0",
        summary="Short lessons by e-mail, spaced repetition, honest reports.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.settings = runtime.settings
    app.state.session_factory = runtime.session_factory
    app.state.clock = runtime.clock
    app.state.services = None
    install_error_handlers(app)
    _include_routers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _include_routers(app: FastAPI) -> None:
    from app.campaigns.router import router as campaigns
    from app.core.health import router as health
    from app.delivery.devinbox import router as devinbox
    from app.employees.router import router as employees
    from app.learning.router import router as learning
    from app.lessons.router import router as lessons
    from app.reports.router import router as reports
    from app.tracking.router import router as tracking

    for router in (employees, lessons, campaigns, learning, reports):
        app.include_router(router, prefix="/api/v1")
    app.include_router(tracking)
    app.include_router(devinbox)
    app.include_router(health)
