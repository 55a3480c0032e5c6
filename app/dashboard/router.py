"""Dashboard routes under /dashboard: thin; the views and services do the work."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.auth.service import authenticate
from app.auth.throttle import auth_throttle
from app.campaigns.models import Campaign
from app.core.deps import ClockDep, SessionDep, SettingsDep, client_address
from app.dashboard.admin import router as admin_router
from app.dashboard.auth import (
    DASHBOARD_ROLES,
    LOGIN_PATH,
    DashboardUser,
    MaybeUser,
    clear_session_cookie,
    set_session_cookie,
)
from app.dashboard.campaign_actions import router as campaign_actions_router
from app.dashboard.campaigns_forms import router as campaign_forms_router
from app.dashboard.courses import router as courses_router
from app.dashboard.csrf import clear_presession_cookie, protect
from app.dashboard.downloads import completion_download, learning_download
from app.dashboard.responses import DashboardRoute, redirect, render
from app.dashboard.staff import router as staff_router
from app.dashboard.views.campaign import campaign_page
from app.dashboard.views.campaigns import campaign_rows
from app.reports.export import ExportFormat
from app.reports.tables import ReportBy

HOME = "/dashboard"
LOGIN_FAILED = (
    "Nyckeln fungerar inte. Kontrollera att du har kopierat hela nyckeln. "
    "En nyckel som har spärrats går inte att använda."
)
NOT_FOR_DASHBOARD = (
    "Den här nyckeln är till för att läsa in personal från kommunens katalog och går inte att "
    "logga in med. Använd din egen nyckel eller ditt konto i kommunen."
)


def too_many_failures(seconds: int) -> str:
    minutes = -(-seconds // 60)
    wait = "1 minut" if minutes == 1 else f"{minutes} minuter"
    return f"För många försök med fel nyckel. Vänta {wait} och försök sedan igen."


# Every route passes `protect`: a POST (or any method that may change something) needs the form
# token and must not come from another site. Templates add the token with {{ csrf_field() }}.
router = APIRouter(
    prefix=HOME,
    route_class=DashboardRoute,
    include_in_schema=False,
    dependencies=[Depends(protect)],
)
# The areas that change something, each in its own module. Included first: their fixed paths
# (e.g. /campaigns/new) must match before the paths with a parameter below.
areas = (staff_router, campaign_forms_router, campaign_actions_router, courses_router, admin_router)
for area in areas:
    router.include_router(area)


@router.get("/login")
def login_form(request: Request, user: MaybeUser) -> Response:
    if user is not None:
        return redirect(HOME)
    return render("login.html", user=None, error=None, sso=request.app.state.oidc is not None)


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    api_key: Annotated[str, Form()] = "",
) -> Response:
    throttle, address, now = auth_throttle(request), client_address(request), clock.now()
    wait = throttle.retry_after("dashboard", address, now)
    if wait is not None:
        refused = render("login.html", status=429, user=None, error=too_many_failures(wait))
        refused.headers["Retry-After"] = str(wait)
        return refused
    key = authenticate(session, api_key.strip(), now)
    if key is None:
        if api_key.strip():
            throttle.failed("dashboard", address, api_key.strip(), now)
        return render("login.html", status=401, user=None, error=LOGIN_FAILED)
    if key.role not in DASHBOARD_ROLES:
        return render("login.html", status=403, user=None, error=NOT_FOR_DASHBOARD)
    response = redirect(HOME)
    set_session_cookie(response, settings, key, now)
    clear_presession_cookie(response)
    return response


@router.post("/logout")
def logout() -> Response:
    response = redirect(LOGIN_PATH)
    clear_session_cookie(response)
    return response


@router.get("")
def campaigns(user: DashboardUser, session: SessionDep, clock: ClockDep) -> Response:
    rows = campaign_rows(session, clock.now())
    return render("campaigns.html", user=user, section="campaigns", rows=rows)


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
    page = campaign_page(
        session, found, clock.now(), settings.report_min_group_size, settings.report_csv_separator
    )
    return render("campaign.html", user=user, section="campaigns", page=page)


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
