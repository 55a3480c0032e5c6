"""Dashboard sign-in: an API key typed once, then a signed session cookie.

The cookie holds no key, only `key id.expiry.mac`. The MAC (HMAC-SHA256 with the secret key)
also covers the key's stored hash, so the session belongs to that exact key: revoking the key,
or replacing it, ends every session made with it at the next request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.auth.models import ApiKey, Role
from app.core.config import Settings
from app.core.deps import ClockDep, SessionDep, SettingsDep

COOKIE = "nanolearn_dashboard"
COOKIE_PATH = "/dashboard"
LOGIN_PATH = "/dashboard/login"
# A working day: long enough for a meeting, short enough that a forgotten session ends.
SESSION_LIFETIME = timedelta(hours=8)
_PURPOSE = b"nanolearn-dashboard-session:"


class RoleRefused(Exception):
    """Raised when the signed-in key's role may not do this; answered with a Swedish 403 page."""


class LoginRequired(Exception):
    """Raised by the session dependency; the dashboard's route class turns it into a redirect."""

    def __init__(self, *, clear_cookie: bool) -> None:
        super().__init__("login required")
        self.clear_cookie = clear_cookie


def _mac(secret: bytes, key: ApiKey, expires: int) -> str:
    message = _PURPOSE + f"{key.id}.{expires}.{key.key_hash}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_session(secret: bytes, key: ApiKey, now: datetime) -> str:
    expires = int((now + SESSION_LIFETIME).timestamp())
    return f"{key.id}.{expires}.{_mac(secret, key, expires)}"


def read_session(session: Session, secret: bytes, value: str, now: datetime) -> ApiKey | None:
    """The key behind a genuine, unexpired session of a key that is not revoked; else None."""
    parts = value.split(".") if len(value) <= 200 else []
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    key_id, expires, mac = int(parts[0]), int(parts[1]), parts[2]
    if expires <= now.timestamp():
        return None
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(mac, _mac(secret, key, expires)):
        return None
    return key


def set_session_cookie(response: Response, settings: Settings, key: ApiKey, now: datetime) -> None:
    response.set_cookie(
        COOKIE,
        sign_session(settings.secret(), key, now),
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        secure=settings.base_url.startswith("https://"),
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def optional_user(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> ApiKey | None:
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    return read_session(session, settings.secret(), value, clock.now())


def current_user(
    request: Request, user: Annotated[ApiKey | None, Depends(optional_user)]
) -> ApiKey:
    if user is None:
        # A cookie that no longer works (expired, tampered, revoked key) is removed as well.
        raise LoginRequired(clear_cookie=COOKIE in request.cookies)
    return user


DashboardUser = Annotated[ApiKey, Depends(current_user)]
MaybeUser = Annotated[ApiKey | None, Depends(optional_user)]


def dashboard_role(*roles: Role) -> Callable[[ApiKey], ApiKey]:
    """A signed-in user whose key has one of `roles`; others get the 403 page (RoleRefused)."""
    allowed = frozenset(roles)

    def check(user: Annotated[ApiKey, Depends(current_user)]) -> ApiKey:
        if user.role not in allowed:
            raise RoleRefused(user.role)
        return user

    check.dashboard_roles = allowed  # type: ignore[attr-defined]  # read by the route-role test
    return check


EditorUser = Annotated[ApiKey, Depends(dashboard_role(Role.admin, Role.editor))]
AdminUser = Annotated[ApiKey, Depends(dashboard_role(Role.admin))]


def can_edit(user: ApiKey | None) -> bool:
    """May change employees and campaigns (what EditorUser allows); for templates."""
    return user is not None and user.role in (Role.admin, Role.editor)


def is_admin(user: ApiKey | None) -> bool:
    return user is not None and user.role == Role.admin
