"""CSRF protection for every dashboard form: a token bound to a cookie, and an Origin check.

The token is HMAC-SHA256(secret key, cookie value). Forms on signed-in pages bind it to the
session cookie; the sign-in form, shown before there is a session, binds it to a short-lived
pre-session cookie made when the form is shown (the signed double-submit pattern). Both cookies
are HttpOnly and SameSite=Strict: another site can neither read them nor make a browser send
them, and without the secret key nobody can make a token that fits them.

`protect` runs for every dashboard route (the router's dependency), checks every method that
may change something, and refuses with a Swedish 403 page:
- an `Origin` (or, without one, a `Referer`) naming another site;
- a missing or wrong token. The sign-in form's pre-session token counts on the sign-in form
  only; everything else needs the session's.

`Origin: null`, or no Origin at all, is let through to the token check. The pages send
`Referrer-Policy: no-referrer`, under which browsers send `Origin: null` on their own form posts,
so refusing null would lock everyone out; and an attacker can make a browser send null as well,
so null proves nothing either way. The token is the real defence; the Origin check refuses the
plain cross-site post early and costs nothing.

Templates write `{{ csrf_field() }}` inside every `<form method="post">`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from app.core.config import Settings
from app.dashboard.auth import COOKIE, COOKIE_PATH, LOGIN_PATH

FIELD = "csrf_token"
PRE_COOKIE = "nanolearn_presession"
PRE_LIFETIME = timedelta(hours=1)  # time to type a key into the sign-in form
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PRE_SESSION_FORMS = frozenset({LOGIN_PATH})  # the forms that are sent before a session exists
_PURPOSE = b"nanolearn-dashboard-form:"
_COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_.=-]{16,800}$")  # 800: MAX_COOKIE in auth.py


class FormRefused(Exception):
    """A state-changing request without a valid token, or from another site: 403."""


def form_token(secret: bytes, kind: str, cookie: str) -> str:
    digest = hmac.new(secret, _PURPOSE + f"{kind}:{cookie}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _cookie(request: Request, name: str) -> str | None:
    value = request.cookies.get(name)
    return value if value and _COOKIE_VALUE.match(value) else None


@dataclass
class FormState:
    """One request's view of the cookies a token can be bound to."""

    secret: bytes
    session: str | None  # the session cookie as sent
    presession: str | None  # the pre-session cookie as sent
    made: str | None = None  # a pre-session value made for a form on this page

    @classmethod
    def of(cls, request: Request, settings: Settings) -> FormState:
        return cls(settings.secret(), _cookie(request, COOKIE), _cookie(request, PRE_COOKIE))

    def token(self, signed_in: bool) -> str:
        """The token for a form on this page: the session's, else the pre-session's."""
        if signed_in and self.session is not None:
            return form_token(self.secret, "session", self.session)
        if self.presession is None and self.made is None:
            self.made = secrets.token_urlsafe(32)
        return form_token(self.secret, "pre", self.presession or self.made or "")

    def accepts(self, sent: str, *, pre_session: bool) -> bool:
        bound = [("session", self.session)]
        if pre_session:
            bound.append(("pre", self.presession))
        return any(
            cookie is not None and hmac.compare_digest(sent, form_token(self.secret, kind, cookie))
            for kind, cookie in bound
        )


FORM_STATE: ContextVar[FormState | None] = ContextVar("dashboard_form_state", default=None)


@pass_context
def csrf_field(context: Context) -> Markup:
    """The hidden field for a form; a page with `user` gets the session's token."""
    state = FORM_STATE.get()
    if state is None:
        raise RuntimeError("csrf_field() is for pages rendered in a dashboard request")
    token = state.token(signed_in=context.get("user") is not None)
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, token)


def set_presession_cookie(response: Response, settings: Settings, value: str) -> None:
    response.set_cookie(
        PRE_COOKIE,
        value,
        max_age=int(PRE_LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        secure=settings.base_url.startswith("https://"),
        httponly=True,
        samesite="strict",
    )


def clear_presession_cookie(response: Response) -> None:
    response.delete_cookie(PRE_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_site(request: Request, settings: Settings) -> bool:
    """False when Origin (or, without it, Referer) names another site; null or none is fine."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if not referer:
            return True
        origin = _origin(referer)
    if origin.strip().lower() == "null":
        return True
    ours = {_origin(settings.base_url), f"{request.url.scheme}://{request.headers.get('host', '')}"}
    return origin.strip().lower().rstrip("/") in {o.lower() for o in ours}


async def protect(request: Request) -> None:
    """The check every dashboard route passes (the router's dependency): see the module text."""
    if request.method in SAFE_METHODS:
        return
    settings: Settings = request.app.state.settings
    if not same_site(request, settings):
        raise FormRefused("foreign origin")
    state = FORM_STATE.get() or FormState.of(request, settings)
    sent = (await request.form()).get(FIELD)
    route = getattr(request.scope.get("route"), "path", "")
    if not isinstance(sent, str) or not state.accepts(sent, pre_session=route in PRE_SESSION_FORMS):
        raise FormRefused("missing or wrong form token")
