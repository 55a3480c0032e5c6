"""A lane of its own for the public links (/l, /a, /u): the busiest requests by far.

On a send morning every mail scanner opens every link within seconds. Through FastAPI's stack
each request would pay for matching against every admin, dashboard and SCIM route, dependency
solving, two exit stacks and FastAPI's own middleware: measured, more than the page's own work
(docs/benchmarks.md). The app (app/main.py) hands a request whose path starts with a public
prefix to this lane, wrapped in the same error and body-size middleware as the rest
(CatchUnhandled, BodyLimit: errors are logged the same way and bodies limited the same way); the
lane calls the matching Starlette Route's endpoint, and anything else goes on to FastAPI.

An exception from a handler is answered by the app's exception handler for it (the 429 page,
the 503 page, a 413 from the body limit), as FastAPI would; others go on to CatchUnhandled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

PREFIXES = ("/l/", "/a/", "/u/")


class PublicLane:
    def __init__(self, app: ASGIApp, routes: Sequence[Route]) -> None:
        self.app = app
        self.routes = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"][:3] in PREFIXES:
            allowed: set[str] = set()
            for route in self.routes:
                match, child = route.matches(scope)
                if match == Match.FULL:
                    scope.update(child)
                    await self._handle(route.endpoint, scope, receive, send)
                    return
                if match == Match.PARTIAL and route.methods:
                    allowed |= route.methods
            if allowed:
                await self._handle(_not_allowed(allowed), scope, receive, send)
                return
        await self.app(scope, receive, send)  # no public page: FastAPI answers (404)

    async def _handle(self, endpoint: Any, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:
            handler = _handler_for(scope["app"], exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)


def _not_allowed(methods: set[str]) -> Any:
    async def endpoint(request: Request) -> None:
        raise HTTPException(405, headers={"Allow": ", ".join(sorted(methods))})

    return endpoint


def _handler_for(app: FastAPI, exc: Exception) -> Any:
    for kind in type(exc).__mro__:
        if kind in app.exception_handlers:
            return app.exception_handlers[kind]
    return None
