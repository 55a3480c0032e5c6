"""Dashboard: a campaign's plan (timeline, preview, test-send) and its status changes, each
with a confirmation that says what happens. Status changes go through
app.delivery.lifecycle.change_status, test-sends through app.delivery.test_send, as in the API;
both are audited with the signed-in key."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.campaigns import service
from app.campaigns.models import Campaign, CampaignStatus
from app.core.deps import ClockDep, SessionDep, SettingsDep
from app.core.errors import ProblemError
from app.dashboard.auth import DashboardUser, EditorUser, User
from app.dashboard.courses import PREVIEW_CSP
from app.dashboard.csrf import protect
from app.dashboard.forms import FieldErrors, Form, field_text, problem_text
from app.dashboard.responses import DashboardRoute, redirect, render
from app.dashboard.views import labels
from app.dashboard.views.plan import ACTIONS, ALLOWED, pause_reason, plan
from app.delivery.addresses import AddressError
from app.delivery.lifecycle import change_status
from app.delivery.preview import preview_html
from app.delivery.test_send import TestSendRefused, send_test
from app.reports.figures import campaign_figures

Action = Literal["start", "pause", "resume", "cancel"]
NOTICES = {
    "testsend": "Provet är skickat. Titta i din inkorg.",
    "start": "Kampanjen är startad.",
    "pause": "Kampanjen är pausad.",
    "resume": "Kampanjen fortsätter.",
    "cancel": "Kampanjen är avbruten.",
}

router = APIRouter(
    prefix="/campaigns",
    route_class=DashboardRoute,
    include_in_schema=False,
    dependencies=[Depends(protect)],
)


def _missing(user: User) -> Response:
    return render("not_found.html", status=404, user=user, section="campaigns")


def _plan_page(
    session: Session,
    user: User,
    campaign: Campaign,
    clock: ClockDep,
    *,
    notice: str = "",
    errors: FieldErrors | None = None,
    email: str = "",
    lesson: str = "",
    status: int = 200,
) -> Response:
    reason, todo = pause_reason(campaign.status_reason)
    return render(
        "campaign_plan.html",
        status=status,
        user=user,
        section="campaigns",
        campaign=campaign,
        status_label=labels.status(campaign),
        schedule=labels.schedule(campaign),
        period=labels.period(campaign.start_date, campaign.end_date),
        plan=plan(session, campaign, clock.now()),
        actions=[(a, ACTIONS[a][0]) for a in ALLOWED.get(CampaignStatus(campaign.status), ())],
        reason=reason,
        todo=todo,
        notice=notice,
        errors=errors or {},
        email=email,
        lesson=lesson,
        draft=campaign.status == CampaignStatus.draft,
    )


@router.get("/{campaign_id}/plan")
def plan_page(
    campaign_id: int, user: DashboardUser, session: SessionDep, clock: ClockDep, klart: str = ""
) -> Response:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        return _missing(user)
    return _plan_page(session, user, campaign, clock, notice=NOTICES.get(klart, ""))


@router.get("/{campaign_id}/preview")
def preview(
    campaign_id: int,
    user: DashboardUser,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    lesson: str = "",
) -> Response:
    """The lesson e-mail exactly as employees get it; its links lead nowhere personal."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        return _missing(user)
    try:
        html = preview_html(session, settings, campaign, lesson[:100] or None, clock.now())
    except ProblemError as exc:
        return render("message.html", status=404, user=user, text=problem_text(exc))
    return HTMLResponse(html, headers={"Content-Security-Policy": PREVIEW_CSP})


@router.post("/{campaign_id}/test-send")
async def test_send(
    campaign_id: int,
    user: EditorUser,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    form: Form,
) -> Response:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        return _missing(user)
    email = field_text(str(form.get("email", "")))[:320]
    lesson = field_text(str(form.get("lesson", "")))[:100]
    error = ""
    if not email:
        error = "Skriv den e-postadress provet ska gå till."
    else:
        try:
            await send_test(session, settings, campaign, lesson or None, email, clock.now())
        except AddressError as exc:
            error = str(exc)
        except TestSendRefused as exc:
            error = (
                "E-postservern kan inte ta emot den här adressen."
                if exc.address
                else f"E-postservern tog inte emot provet ({exc.error[:200]}). Försök igen om en "
                "stund, eller be den som sköter Nanolearn titta på e-postservern."
            )
        except ProblemError as exc:
            error = problem_text(exc)
    if error:
        errors = {"email": error}
        return _plan_page(
            session, user, campaign, clock, errors=errors, email=email, lesson=lesson, status=422
        )
    # The lesson, never the address it went to (as in the API).
    service.audit_change(
        session,
        user,
        "test_send",
        campaign.id,
        clock.now(),
        rows=1,
        detail={"lesson": lesson or None},
    )
    return redirect(f"/dashboard/campaigns/{campaign.id}/plan?klart=testsend")


@router.get("/{campaign_id}/status/{action}")
def confirm(
    campaign_id: int, action: Action, user: EditorUser, session: SessionDep, clock: ClockDep
) -> Response:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        return _missing(user)
    title, text, button = ACTIONS[action]
    allowed = action in ALLOWED.get(CampaignStatus(campaign.status), ())
    return render(
        "campaign_confirm.html",
        status=200 if allowed else 409,
        user=user,
        section="campaigns",
        campaign=campaign,
        action=action,
        title=title,
        text=text,
        button=button,
        allowed=allowed,
        status_label=labels.status(campaign),
        reached=service.audience_size(session, campaign) if action == "start" else None,
    )


@router.post("/{campaign_id}/status/{action}")
def change(
    campaign_id: int, action: Action, user: EditorUser, session: SessionDep, clock: ClockDep
) -> Response:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        return _missing(user)
    if action not in ALLOWED.get(CampaignStatus(campaign.status), ()):
        text = f"Kampanjen är {labels.status(campaign).lower()}; det går inte nu. Inget ändrades."
        return render("message.html", status=409, user=user, text=text)
    try:
        change_status(session, campaign, action, clock.now())
    except ProblemError as exc:
        session.rollback()
        return render("message.html", status=exc.status, user=user, text=problem_text(exc))
    enrolled = campaign_figures(session, campaign.id).enrolled if action == "start" else None
    service.audit_change(session, user, action, campaign.id, clock.now(), rows=enrolled)
    return redirect(f"/dashboard/campaigns/{campaign.id}/plan?klart={action}")
