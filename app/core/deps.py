"""Request-scoped dependencies: the session (committed by the request), settings and clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.core.clock import Clock
from app.core.config import Settings
from app.core.db import session_scope


def get_session(request: Request) -> Iterator[Session]:
    """The request owns the unit of work: services flush, this commits once at the end.

    Used with scope="function" (SessionDep): the commit runs when the route returns, before
    the response is sent, so a 200 means it is stored. In the default "request" scope FastAPI
    runs the exit code after the response has gone out, and a crash in between loses it.
    """
    with session_scope(request.app.state.session_factory) as session:
        yield session


def client_address(request: Request) -> str:
    """The client's address, for rate limits. Behind a reverse proxy uvicorn puts the address
    from `X-Forwarded-For` here when the proxy is trusted (FORWARDED_ALLOW_IPS); otherwise every
    client would look like the proxy."""
    return request.client.host if request.client else ""


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]
