"""How the dashboard answers: HTML from templates/dashboard, redirects, and one route class that
adds the public pages' security headers to every response, sends visitors without a session
to the login page, refuses forged form posts (csrf.py) and sets the sign-in form's cookie."""

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
from app.dashboard.auth import (
    LOGIN_PATH,
    LoginRequired,
    RoleRefused,
    can_edit,
    clear_session_cookie,
    is_admin,
)
from app.dashboard.csrf import FORM_STATE, FormRefused, FormState, csrf_field, set_presession_cookie

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


@lru_cache(maxsize=1)
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["csrf_field"] = csrf_field
    environment.globals["can_edit"] = can_edit
    environment.globals["is_admin"] = is_admin
    return environment


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
            settings = request.app.state.settings
            state = FormState.of(request, settings)
            reset = FORM_STATE.set(state)  # read by csrf_field() in templates, and by protect
            try:
                response = await handler(request)
            except LoginRequired as exc:
                response = login_redirect(exc.clear_cookie)
            except FormRefused:
                response = render("refused.html", status=403, user=None)
            except RoleRefused:
                response = render("forbidden.html", status=403, user=None)
            finally:
                FORM_STATE.reset(reset)
            if state.made is not None:  # the page has a sign-in form: its token needs the cookie
                set_presession_cookie(response, settings, state.made)
            for name, value in SECURITY_HEADERS.items():
                # A page may bring a stricter or different policy of its own (e-mail previews).
                response.headers.setdefault(name, value)
            return response

        return route
