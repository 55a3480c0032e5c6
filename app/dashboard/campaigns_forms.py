"""Dashboard: create and edit a campaign with a form (editors). The API's schemas and the
campaign service decide what is valid; errors are shown next to their field, and the form
keeps what was typed. Audited as campaigns.create / campaigns.update, like the API."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns import service
from app.campaigns.models import Campaign, CampaignStatus
from app.campaigns.schemas import CampaignCreate, CampaignPatch
from app.core.deps import ClockDep, SessionDep
from app.core.errors import ProblemError
from app.dashboard.auth import EditorUser, User
from app.dashboard.csrf import protect
from app.dashboard.forms import FieldErrors, Form, problem_text
from app.dashboard.responses import DashboardRoute, redirect, render
from app.dashboard.views.campaign_form import CampaignForm, choices, form_errors
from app.lessons.models import Course

ENDED = (CampaignStatus.cancelled, CampaignStatus.finished)

router = APIRouter(
    prefix="/campaigns",
    route_class=DashboardRoute,
    include_in_schema=False,
    dependencies=[Depends(protect)],
)


def _form_page(
    session: Session,
    user: User,
    form: CampaignForm,
    errors: FieldErrors,
    campaign: Campaign | None = None,
) -> Response:
    return render(
        "campaign_form.html",
        status=422 if errors else 200,
        user=user,
        section="campaigns",
        form=form,
        errors=errors,
        choices=choices(session, form),
        campaign=campaign,
    )


def _service_errors(exc: ProblemError) -> FieldErrors:
    """A service's refusal under the field it names (unknown course or department)."""
    fields = {str(e.get("field", "")) for e in exc.errors or []}
    if "course" in fields:
        return {"course": "Välj en kurs i listan."}
    if "audience.departments" in fields:
        said = " ".join(
            str(e["message"]) for e in exc.errors or [] if e.get("field") == "audience.departments"
        )
        return {"departments": said[:1].upper() + said[1:]}
    return {"": problem_text(exc)}


@router.get("/new")
def new(user: EditorUser, session: SessionDep) -> Response:
    return _form_page(session, user, CampaignForm(), {})


@router.post("/new")
def create(user: EditorUser, session: SessionDep, clock: ClockDep, posted: Form) -> Response:
    form = CampaignForm.posted(posted)
    body, errors = form.body()
    try:
        create_body = CampaignCreate.model_validate(body)
    except ValidationError as exc:
        return _form_page(session, user, form, form_errors(exc) | errors)
    if errors:
        return _form_page(session, user, form, errors)
    try:
        campaign = service.create_campaign(session, create_body, clock.now())
    except ProblemError as exc:
        session.rollback()
        return _form_page(session, user, form, _service_errors(exc))
    service.audit_change(
        session, user, "create", campaign.id, clock.now(), detail={"course": create_body.course}
    )
    return redirect(f"/dashboard/campaigns/{campaign.id}/plan")


def _editable(session: Session, campaign_id: int) -> tuple[Campaign, str] | None:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status in ENDED:
        return None
    slug = session.scalar(select(Course.slug).where(Course.id == campaign.course_id)) or ""
    return campaign, slug


def _not_editable(user: User) -> Response:
    text = "Kampanjen finns inte, eller så är den avslutad eller avbruten och kan inte ändras."
    return render("message.html", status=404, user=user, section="campaigns", text=text)


@router.get("/{campaign_id}/edit")
def edit(campaign_id: int, user: EditorUser, session: SessionDep) -> Response:
    found = _editable(session, campaign_id)
    if found is None:
        return _not_editable(user)
    campaign, slug = found
    return _form_page(session, user, CampaignForm.of(campaign, slug), {}, campaign)


@router.post("/{campaign_id}/edit")
def update(
    campaign_id: int, user: EditorUser, session: SessionDep, clock: ClockDep, posted: Form
) -> Response:
    found = _editable(session, campaign_id)
    if found is None:
        return _not_editable(user)
    campaign, slug = found
    form = CampaignForm.posted(posted)
    form.course = slug  # a campaign keeps its course (as in the API)
    body, errors = form.body()
    body.pop("course")
    try:
        patch = CampaignPatch.model_validate(body)
    except ValidationError as exc:
        return _form_page(session, user, form, form_errors(exc) | errors, campaign)
    if errors:
        return _form_page(session, user, form, errors, campaign)
    try:
        service.update_campaign(session, campaign, patch, clock.now())
    except ProblemError as exc:
        session.rollback()
        return _form_page(session, user, form, _service_errors(exc), campaign)
    fields = sorted(patch.model_fields_set)
    service.audit_change(
        session, user, "update", campaign.id, clock.now(), detail={"fields": fields}
    )
    after = "plan" if campaign.status == CampaignStatus.draft else ""
    return redirect(f"/dashboard/campaigns/{campaign.id}/{after}".rstrip("/"))
