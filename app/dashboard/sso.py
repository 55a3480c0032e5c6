"""Sign-in with the municipality's account (OpenID Connect, app/sso): the button on the sign-in
page goes to /dashboard/login/sso, the provider sends the browser back to the callback.

A callback whose state is not this browser's own (forged, replayed, or too late) or whose ID
token fails a check gets a Swedish page and no session; so does someone whose claims map to no
role, who is told whom to ask. The role is read at every sign-in, and the session lasts
SESSION_LIFETIME: someone removed from the group loses access at the latest when it ends.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.auth.audit import Person
from app.core.config import Settings
from app.core.deps import ClockDep, SettingsDep
from app.dashboard.auth import LOGIN_PATH, set_session_cookie
from app.dashboard.csrf import clear_presession_cookie, protect
from app.dashboard.responses import DashboardRoute, render
from app.sso.client import Flow, OidcClient, SignInError
from app.sso.flow import FLOW_LIFETIME, seal, unseal
from app.sso.roles import display_name, role_for

log = logging.getLogger(__name__)

SSO_PATH = f"{LOGIN_PATH}/sso"
CALLBACK_PATH = f"{SSO_PATH}/callback"
FLOW_COOKIE = "nanolearn_oidc_flow"

UNAVAILABLE = (
    "Kommunens inloggning svarar inte just nu. Försök igen om en stund, eller logga in med "
    "en API-nyckel."
)
NOT_YOURS = (
    "Inloggningen kunde inte kontrolleras: länken var gammal, användes redan eller kom inte "
    "från den här webbläsaren. Ingen har loggats in. Börja om från inloggningssidan."
)
NOT_VERIFIED = (
    "Svaret från kommunens inloggning kunde inte kontrolleras, så ingen har loggats in. "
    "Börja om från inloggningssidan. Händer det igen, kontakta den som sköter Nanolearn."
)
CANCELLED = "Inloggningen avbröts eller nekades hos kommunens inloggning. Ingen har loggats in."


def no_role(contact: str) -> str:
    whom = contact or "den som sköter Nanolearn i kommunen"
    return (
        "Ditt konto i kommunen har ingen behörighet till Nanolearn. "
        f"Be {whom} att lägga till dig i rätt grupp, och logga sedan in igen."
    )


router = APIRouter(
    prefix=SSO_PATH,
    route_class=DashboardRoute,
    include_in_schema=False,
    dependencies=[Depends(protect)],
)


def _client(request: Request) -> OidcClient | None:
    client: OidcClient | None = getattr(request.app.state, "oidc", None)
    return client


def _redirect_uri(settings: Settings) -> str:
    return f"{settings.base_url}{CALLBACK_PATH}"


def _refused(status: int, message: str) -> Response:
    response = render("sso_refused.html", status=status, user=None, message=message)
    response.delete_cookie(FLOW_COOKIE, path=SSO_PATH, httponly=True, samesite="lax")
    return response


@router.get("")
async def start(request: Request, settings: SettingsDep, clock: ClockDep) -> Response:
    client = _client(request)
    if client is None:
        return render("not_found.html", status=404, user=None)
    flow = Flow.new()
    try:
        url = await client.authorization_url(_redirect_uri(settings), flow)
    except SignInError as exc:
        log.warning("OIDC sign-in could not start", extra={"reason": exc.reason})
        return _refused(503, UNAVAILABLE)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        seal(settings.secret(), flow, clock.now()),
        max_age=int(FLOW_LIFETIME.total_seconds()),
        path=SSO_PATH,
        secure=settings.base_url.startswith("https://"),
        httponly=True,
        samesite="lax",  # the provider's redirect back is a cross-site navigation
    )
    return response


@router.get("/callback")
async def callback(
    request: Request,
    settings: SettingsDep,
    clock: ClockDep,
    code: Annotated[str, Query(max_length=4096)] = "",
    state: Annotated[str, Query(max_length=512)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    client = _client(request)
    if client is None:
        return render("not_found.html", status=404, user=None)
    now = clock.now()
    flow = unseal(settings.secret(), request.cookies.get(FLOW_COOKIE), state, now)
    if flow is None:
        log.warning("OIDC callback refused", extra={"reason": "state does not match"})
        return _refused(400, NOT_YOURS)
    if error or not code:
        return _refused(403, CANCELLED)
    try:
        claims = await client.sign_in(code, _redirect_uri(settings), flow, now)
    except SignInError as exc:
        log.warning("OIDC callback refused", extra={"reason": exc.reason})
        return _refused(400, NOT_VERIFIED)
    role = role_for(claims, settings.oidc_roles_claim, settings.oidc_role_map)
    if role is None:
        return _refused(403, no_role(settings.oidc_contact))
    response = render("signed_in.html")
    set_session_cookie(response, settings, Person(claims["sub"], display_name(claims), role), now)
    response.delete_cookie(FLOW_COOKIE, path=SSO_PATH, httponly=True, samesite="lax")
    clear_presession_cookie(response)
    return response
