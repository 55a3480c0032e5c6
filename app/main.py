"""The FastAPI application: admin API under /api/v1, public lesson pages, dashboard, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api import include_api
from app.auth.throttle import FailureThrottle
from app.core.errors import BodyLimit, CatchUnhandled, install_error_handlers
from app.core.health import router as health
from app.core.metrics import registry_for
from app.core.runtime import Runtime, tune_gc_for_serving
from app.dashboard.router import router as dashboard
from app.dashboard.sso import router as dashboard_sso
from app.delivery.devinbox import router as devinbox
from app.outbox.metrics import OutboxCollector
from app.scim.router import router as scim
from app.sso.client import OidcClient
from app.tracking.lane import PREFIXES as PUBLIC_PREFIXES
from app.tracking.lane import PublicLane
from app.tracking.router import install as install_public_pages
from app.tracking.router import public_lifespan
from app.worker import BackgroundServices

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Request bodies: the staff list upload is the largest (its own check says so in Swedish; this
# leaves room for the multipart framing); the public forms carry one small field.
MAX_BODY_BYTES = 21 * 1024 * 1024
PUBLIC_BODY_LIMITS = (("/a/", 16 * 1024), ("/u/", 16 * 1024), ("/l/", 16 * 1024))


class NanolearnApp(FastAPI):
    """FastAPI, with the public links handed to their own lane before FastAPI's layers
    (app/tracking/lane.py says why), wrapped in the same error and body-size middleware."""

    _public: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"][:3] in PUBLIC_PREFIXES:
            if self._public is None:
                lane = PublicLane(super().__call__, self.state.public_routes)
                limited = BodyLimit(lane, default=MAX_BODY_BYTES, limits=PUBLIC_BODY_LIMITS)
                self._public = CatchUnhandled(limited)
            scope["app"] = self
            await self._public(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(runtime: Runtime | None = None, *, background: bool = False) -> FastAPI:
    """Build the app; with background=True it also runs the scheduler (and dev mail catcher)."""
    runtime = runtime or Runtime.create()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with public_lifespan(app):
            if not background:
                yield
                return

            services = BackgroundServices(runtime)
            await services.start()
            app.state.services = services
            try:
                yield
            finally:
                await services.stop()

    app = NanolearnApp(
        title="Nanolearn",
        version="0.1.0",
        summary="Short lessons by e-mail, spaced repetition, honest reports.",
        lifespan=lifespan,
        redirect_slashes=False,  # no redirect anywhere: a trailing slash is a plain 404
        # No OpenTelemetry export: nothing about requests leaves the server, and each request
        # is spared the check for a configured provider (measured on the public pages).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime
    app.state.settings = runtime.settings
    app.state.session_factory = runtime.session_factory
    app.state.clock = runtime.clock
    app.state.services = None
    app.state.metrics = registry_for(OutboxCollector(runtime.session_factory, runtime.clock))
    app.state.auth_throttle = FailureThrottle.from_settings(runtime.settings)
    app.state.oidc = OidcClient.from_settings(runtime.settings)  # None: no sign-in by account
    install_error_handlers(app, max_body=MAX_BODY_BYTES, body_limits=PUBLIC_BODY_LIMITS)
    _include_routers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def serving_app() -> FastAPI:
    """One of the processes of `nanolearn serve --workers N` (uvicorn calls this factory in
    each): the API, the dashboard and the public pages, without the jobs, which run once in a
    process of their own (app.worker.serve_background). Settings come from the environment."""
    from app.core.logging import configure_logging

    configure_logging()
    app = create_app(Runtime.create(), background=False)
    tune_gc_for_serving()
    return app


def _include_routers(app: FastAPI) -> None:
    install_public_pages(app)  # first: the busiest routes are matched first
    include_api(app)
    app.include_router(dashboard)
    app.include_router(dashboard_sso)
    app.include_router(scim)
    app.include_router(devinbox)
    app.include_router(health)
