"""Auto-pause: a campaign stops itself, with a reason people can act on, when the relay refuses
us (our sender, login or TLS) or when too many of its recent e-mails are refused."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignStatus
from app.core import metrics
from app.core.logging import EMAIL
from app.delivery.lifecycle import change_status
from app.outbox.state import recent_failures

log = logging.getLogger(__name__)


def pause_campaign(session: Session, campaign_id: int, reason: str, now: datetime) -> bool:
    """Pause a running campaign with a reason people can act on; False if it is not running."""
    campaign = session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None or campaign.status != CampaignStatus.running:
        return False
    change_status(session, campaign, "pause", now, reason=reason[:1000])
    metrics.CAMPAIGNS_PAUSED.inc()
    log.warning("campaign %s paused: %s", campaign_id, reason)
    return True


def _relay_refuses(error: str, advice: str = "") -> str:
    if advice:  # the transport knows what to do (an OAuth or Microsoft 365 refusal)
        return f"Pausad automatiskt. {advice} Svaret var: {error}"
    return (
        f"Paused automatically: the mail relay refuses to send for us ({error}). "
        "Check NANOLEARN_MAIL_FROM and NANOLEARN_SMTP_URL (login, TLS) with the relay's "
        "administrator, then resume the campaign."
    )


def _too_many_failures(failed: int, finished: int, percent: float, error: str) -> str:
    example = EMAIL.sub("<address>", error[:200])  # the reason is shown; the address is not
    return (
        f"Paused automatically: {failed} of the last {finished} e-mails were refused "
        f"(more than {percent:g} %). A refusal looks like: {example}. Check the "
        "employee addresses and the relay, then resume the campaign."
    )


def pause_refused(
    session: Session, refused: dict[int, tuple[str, str]], now: datetime
) -> list[int]:
    """Pause each campaign the relay refused to send for ({campaign id: (error, advice)})."""
    return [
        campaign_id
        for campaign_id, (error, advice) in refused.items()
        if pause_campaign(session, campaign_id, _relay_refuses(error, advice), now)
    ]


def pause_failing(
    session: Session,
    campaign_ids: set[int],
    example: str,
    *,
    window: int,
    percent: float,
    now: datetime,
) -> list[int]:
    """Pause each campaign where more than `percent` of the last `window` e-mails failed."""
    paused = []
    for campaign_id in sorted(campaign_ids):
        finished, failed = recent_failures(session, campaign_id, window)
        if finished >= window and failed * 100 > percent * finished:
            reason = _too_many_failures(failed, finished, percent, example)
            if pause_campaign(session, campaign_id, reason, now):
                paused.append(campaign_id)
    return paused
