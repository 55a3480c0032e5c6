"""Dashboard sign-in: an API key typed once, then a signed session cookie.

The cookie holds no key, only `key id.expiry.mac`. The MAC (HMAC-SHA256 with the secret key)
also covers the key's stored hash, so the session belongs to that exact key: revoking the key,
or replacing it, ends every session made with it at the next request.

Someone who signs in with the municipality's account (app/sso) gets `p.<who>.expiry.mac`, where
<who> is their subject, display name and role, as the identity provider said at this sign-in:
nothing about them is stored on the server, and their role is read again at the next sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.auth.audit import Person
from app.auth.models import ApiKey, Role
from app.core.config import Settings
from app.core.deps import ClockDep, SessionDep, SettingsDep

COOKIE = "nanolearn_dashboard"
COOKIE_PATH = "/dashboard"
LOGIN_PATH = "/dashboard/login"
# A working day: long enough for a meeting, short enough that a forgotten session ends.
SESSION_LIFETIME = timedelta(hours=8)
_PURPOSE = b"nanolearn-dashboard-session:"
_PERSON = "p"
MAX_COOKIE = 800  # a person's cookie holds their subject and name (cut to fit by Person)
# The roles that may sign in to the dashboard; a provisioning key may call /scim/v2 only.
DASHBOARD_ROLES = frozenset({Role.admin, Role.editor, Role.reporter})
User = ApiKey | Person


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


def _person_mac(secret: bytes, who: str, expires: int) -> str:
    digest = hmac.new(secret, _PURPOSE + f"{_PERSON}.{who}.{expires}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def sign_session(secret: bytes, user: User, now: datetime) -> str:
    expires = int((now + SESSION_LIFETIME).timestamp())
    if isinstance(user, Person):
        data = json.dumps([user.subject, user.name, str(user.role)], ensure_ascii=False)
        who = base64.urlsafe_b64encode(data.encode()).rstrip(b"=").decode()
        return f"{_PERSON}.{who}.{expires}.{_person_mac(secret, who, expires)}"
    return f"{user.id}.{expires}.{_mac(secret, user, expires)}"


def _read_person(secret: bytes, parts: list[str], now: datetime) -> Person | None:
    who, expires, mac = parts[1], parts[2], parts[3]
    if not expires.isdigit() or int(expires) <= now.timestamp():
        return None
    if not hmac.compare_digest(mac, _person_mac(secret, who, int(expires))):
        return None
    subject, name, role = json.loads(base64.urlsafe_b64decode(who + "=" * (-len(who) % 4)))
    return Person(subject, name, Role(role)) if role in DASHBOARD_ROLES else None


def read_session(session: Session, secret: bytes, value: str, now: datetime) -> User | None:
    """The key behind a genuine, unexpired session of a key that is not revoked, or the person
    of a genuine, unexpired session; else None."""
    parts = value.split(".") if len(value) <= MAX_COOKIE else []
    if len(parts) == 4 and parts[0] == _PERSON:
        return _read_person(secret, parts, now)
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    key_id, expires, mac = int(parts[0]), int(parts[1]), parts[2]
    if expires <= now.timestamp():
        return None
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None or key.role not in DASHBOARD_ROLES:
        return None
    if not hmac.compare_digest(mac, _mac(secret, key, expires)):
        return None
    return key


def set_session_cookie(response: Response, settings: Settings, user: User, now: datetime) -> None:
    response.set_cookie(
        COOKIE,
        sign_session(settings.secret(), user, now),
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
) -> User | None:
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    return read_session(session, settings.secret(), value, clock.now())


def current_user(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        # A cookie that no longer works (expired, tampered, revoked key) is removed as well.
        raise LoginRequired(clear_cookie=COOKIE in request.cookies)
    return user


# An API key or a person; either is the `actor` of the audit log as it is.
DashboardUser = Annotated[User, Depends(current_user)]
MaybeUser = Annotated[User | None, Depends(optional_user)]


def dashboard_role(*roles: Role) -> Callable[[User], User]:
    """A signed-in user whose key has one of `roles`; others get the 403 page (RoleRefused)."""
    allowed = frozenset(roles)

    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in allowed:
            raise RoleRefused(user.role)
        return user

    check.dashboard_roles = allowed  # type: ignore[attr-defined]  # read by the route-role test
    return check


EditorUser = Annotated[User, Depends(dashboard_role(Role.admin, Role.editor))]
AdminUser = Annotated[User, Depends(dashboard_role(Role.admin))]


def can_edit(user: User | None) -> bool:
    """May change employees and campaigns (what EditorUser allows); for templates."""
    return user is not None and user.role in (Role.admin, Role.editor)


def is_admin(user: User | None) -> bool:
    return user is not None and user.role == Role.admin


def owner_of(user: User) -> str:
    """Who owns something kept between requests (an uploaded file): the key, or the person by
    a hash of their subject, so the subject itself is not written to disk."""
    if isinstance(user, ApiKey):
        return f"key-{user.id}"
    return "person-" + hashlib.sha256(user.subject.encode()).hexdigest()[:24]
