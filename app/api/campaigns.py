"""Campaigns API: create, edit, start/pause/resume/cancel, preview and test-send.

The campaign room owns the rules; this face composes it with sending (status changes and their
consequences, test-send), and the reports (the counts shown with a campaign)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from app.auth.deps import EditorKey, ReaderKey
from app.auth.models import ApiKey
from app.campaigns import service
from app.campaigns.models import Campaign
from app.campaigns.schemas import (
    CampaignCreate,
    CampaignOut,
    CampaignPatch,
    TestSendIn,
    TestSendOut,
)
from app.core.clock import Clock
from app.core.config import Settings
from app.core.deps import ClockDep, SessionDep, SettingsDep
from app.core.errors import ProblemError
from app.core.i18n import Text
from app.delivery.addresses import AddressError
from app.delivery.forecasting import DEFAULT_WEEKS, ForecastOut, campaign_forecast
from app.delivery.lifecycle import change_status
from app.delivery.preview import preview_html
from app.delivery.test_send import TestSendRefused, send_test
from app.reports.figures import status_counts

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


@router.post("", status_code=201)
def create_campaign(
    body: CampaignCreate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    key: EditorKey,
) -> CampaignOut:
    """Create a campaign as a draft; start it when it looks right. `warnings` says where the
    sending limits will not keep up with its coming slots."""
    campaign = service.create_campaign(session, body, clock.now())
    _audit(session, key, "create", campaign.id, clock, detail={"course": body.course})
    return _with_warnings(_out(session, campaign, clock), session, settings, campaign, clock)


@router.get("/{campaign_id}/forecast")
def forecast(
    campaign_id: int,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    _: ReaderKey,
    weeks: int = Query(default=DEFAULT_WEEKS, ge=1, le=52),
) -> ForecastOut:
    """Each coming slot: when, which lesson, how many e-mails, and when the first and the last
    are expected to leave under the sending accounts' limits and the send window; `warnings`
    when a slot cannot finish inside its window or breaks a daily limit."""
    campaign = service.get_campaign(session, campaign_id)
    return campaign_forecast(session, settings, campaign, clock.now(), weeks)


@router.get("")
def list_campaigns(session: SessionDep, clock: ClockDep, _: ReaderKey) -> list[CampaignOut]:
    """All campaigns, newest first."""
    return [service.to_out(session, c, clock.now(), None) for c in service.list_campaigns(session)]


@router.get("/{campaign_id}")
def get_campaign(
    campaign_id: int, session: SessionDep, clock: ClockDep, _: ReaderKey
) -> CampaignOut:
    """One campaign with its counts: enrolled, sent, failed, pending, answered, opted out."""
    return _out(session, service.get_campaign(session, campaign_id), clock)


@router.patch("/{campaign_id}")
def update_campaign(
    campaign_id: int, body: CampaignPatch, session: SessionDep, clock: ClockDep, key: EditorKey
) -> CampaignOut:
    """Change a campaign's name, audience, schedule or settings."""
    campaign = service.get_campaign(session, campaign_id)
    service.update_campaign(session, campaign, body, clock.now())
    # Which fields changed, not their values: owner_emails holds addresses.
    _audit(
        session, key, "update", campaign.id, clock, detail={"fields": sorted(body.model_fields_set)}
    )
    return _out(session, campaign, clock)


def _action(action: str) -> Callable[..., CampaignOut]:
    def run(
        campaign_id: int,
        session: SessionDep,
        settings: SettingsDep,
        clock: ClockDep,
        key: EditorKey,
    ) -> CampaignOut:
        campaign = service.get_campaign(session, campaign_id)
        change_status(session, campaign, action, clock.now())
        out = _out(session, campaign, clock)
        enrolled = out.counts.enrolled if action == "start" and out.counts else None
        _audit(session, key, action, campaign.id, clock, rows=enrolled)
        if action == "start":
            return _with_warnings(out, session, settings, campaign, clock)
        return out

    run.__doc__ = {
        "start": "Start sending: enrolls the audience; the first e-mail goes at the next slot.",
        "pause": "Stop sending at once; lessons not yet sent go out after resume.",
        "resume": "Go on where the campaign stopped, without skipping or repeating a lesson.",
        "cancel": "End the campaign for good; nothing more is sent.",
    }[action]
    run.__name__ = f"{action}_campaign"
    return run


for _name in ("start", "pause", "resume", "cancel"):
    router.add_api_route(
        f"/{{campaign_id}}/{_name}", _action(_name), methods=["POST"], response_model=CampaignOut
    )


@router.get("/{campaign_id}/preview", response_class=HTMLResponse)
def preview(
    campaign_id: int,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    _: ReaderKey,
    lesson: str | None = None,
) -> Response:
    """The lesson e-mail as HTML, exactly as employees get it (its links open a page saying it is a test)."""
    campaign = service.get_campaign(session, campaign_id)
    return HTMLResponse(preview_html(session, settings, campaign, lesson, clock.now()))


@router.post("/{campaign_id}/test-send")
async def test_send(
    campaign_id: int,
    body: TestSendIn,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    key: EditorKey,
) -> TestSendOut:
    """Send one lesson e-mail to an address now, to check how it looks in a real inbox."""
    campaign = service.get_campaign(session, campaign_id)
    try:
        sent = await send_test(
            session, settings, campaign, body.lesson, str(body.email), clock.now()
        )
    except AddressError as exc:
        error = {"field": "email", "message": str(exc)}
        title = Text("Adressen går inte att använda", "Unusable address")
        raise ProblemError(422, title, str(exc), errors=[error]) from None
    except TestSendRefused as exc:
        title = (
            # not tried: e.g. it needs SMTPUTF8, the relay lacks it
            Text(
                "E-postservern kan inte ta emot adressen", "The mail relay cannot take this address"
            )
            if exc.address
            else Text(
                "E-postservern tog inte emot meddelandet",
                "The mail relay did not accept the message",
            )
        )
        raise ProblemError(502, title, f"{exc.relay}: {exc.error}") from None
    # The lesson, never the address it went to.
    _audit(session, key, "test_send", campaign.id, clock, rows=1, detail={"lesson": body.lesson})
    return TestSendOut(sent_to=str(body.email), message_id=sent.message_id)


def _with_warnings(
    out: CampaignOut, session: Session, settings: Settings, campaign: Campaign, clock: Clock
) -> CampaignOut:
    found = campaign_forecast(session, settings, campaign, clock.now(), DEFAULT_WEEKS)
    return out.model_copy(update={"warnings": found.warnings})


def _out(session: Session, campaign: Campaign, clock: Clock) -> CampaignOut:
    counts = status_counts(session, campaign.id)
    return service.to_out(session, campaign, clock.now(), counts)


def _audit(
    session: Session,
    key: ApiKey,
    action: str,
    campaign_id: int,
    clock: Clock,
    *,
    rows: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    service.audit_change(session, key, action, campaign_id, clock.now(), rows=rows, detail=detail)
