"""Dashboard routes under /dashboard: thin; the views and services do the work."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.auth.service import authenticate
from app.campaigns.models import Campaign
from app.core.deps import ClockDep, SessionDep, SettingsDep
from app.dashboard.auth import (
    LOGIN_PATH,
    DashboardUser,
    MaybeUser,
    clear_session_cookie,
    set_session_cookie,
)
from app.dashboard.downloads import completion_download, learning_download
from app.dashboard.responses import DashboardRoute, redirect, render
from app.dashboard.views.campaign import campaign_page
from app.dashboard.views.campaigns import campaign_rows
from app.reports.export import ExportFormat
from app.reports.tables import ReportBy

HOME = "/dashboard"
LOGIN_FAILED = (
    "Nyckeln fungerar inte. Kontrollera att du har kopierat hela nyckeln. "
    "En nyckel som har spärrats går inte att använda."
)

router = APIRouter(prefix=HOME, route_class=DashboardRoute, include_in_schema=False)


@router.get("/login")
def login_form(user: MaybeUser) -> Response:
    if user is not None:
        return redirect(HOME)
    return render("login.html", user=None, error=None)


@router.post("/login")
def login(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    api_key: Annotated[str, Form()] = "",
) -> Response:
    now = clock.now()
    key = authenticate(session, api_key.strip(), now)
    if key is None:
        return render("login.html", status=401, user=None, error=LOGIN_FAILED)
    response = redirect(HOME)
    set_session_cookie(response, settings, key, now)
    return response


@router.post("/logout")
def logout() -> Response:
    response = redirect(LOGIN_PATH)
    clear_session_cookie(response)
    return response


@router.get("")
def campaigns(user: DashboardUser, session: SessionDep, clock: ClockDep) -> Response:
    return render("campaigns.html", user=user, rows=campaign_rows(session, clock.now()))


def _not_found(user: DashboardUser) -> Response:
    return render("not_found.html", status=404, user=user)


@router.get("/campaigns/{campaign_id}")
def campaign(
    campaign_id: int,
    user: DashboardUser,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    found = session.get(Campaign, campaign_id)
    if found is None:
        return _not_found(user)
    page = campaign_page(session, found, clock.now(), settings.report_min_group_size)
    return render("campaign.html", user=user, page=page)


@router.get("/campaigns/{campaign_id}/download/completion.{fmt}")
def download_completion(
    campaign_id: int,
    fmt: ExportFormat,
    request: Request,
    user: DashboardUser,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    by: ReportBy = ReportBy.employee,
) -> Response:
    if session.get(Campaign, campaign_id) is None:
        return _not_found(user)
    factory = request.app.state.session_factory
    wanted = (campaign_id, by, fmt)
    return completion_download(factory, session, settings, user, wanted, clock.now())


@router.get("/campaigns/{campaign_id}/download/learning.json")
def download_learning(
    campaign_id: int,
    user: DashboardUser,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    found = session.get(Campaign, campaign_id)
    if found is None:
        return _not_found(user)
    return learning_download(session, settings, found, clock.now())
