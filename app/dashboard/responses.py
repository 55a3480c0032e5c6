"""How the dashboard answers: HTML from templates/dashboard, redirects, and one route class that
adds the public pages' security headers to every response and sends visitors without a session
to the login page."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.core.headers import SECURITY_HEADERS
from app.core.templates import TEMPLATES_DIR
from app.dashboard.auth import LOGIN_PATH, LoginRequired, clear_session_cookie

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _environment().get_template(f"dashboard/{name}").render(**context)
    return HTMLResponse(html, status_code=status)


def redirect(path: str) -> RedirectResponse:
    # 303: after a POST the browser follows with a GET. Paths only, never a full URL, so the
    # dashboard can never be made to send anyone to another site.
    return RedirectResponse(path, status_code=303)


def login_redirect(clear_cookie: bool) -> RedirectResponse:
    response = redirect(LOGIN_PATH)
    if clear_cookie:
        clear_session_cookie(response)
    return response


class DashboardRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired as exc:
                response = login_redirect(exc.clear_cookie)
            response.headers.update(SECURITY_HEADERS)
            return response

        return route
