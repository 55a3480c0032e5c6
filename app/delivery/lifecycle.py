"""What a campaign's change of status does to what is sent and what is asked again.

The campaign state machine (`app.campaigns.service.transition`) decides whether a change is
allowed; this adds its consequences in the rooms above it, in the same unit of work:
- pause and cancel drop the unsent e-mails (on resume the next slot carries the same lesson);
- cancel and finish retire the campaign's review cards (its questions have ended too).
Every change of a campaign's status goes through `change_status`: the API, the dashboard, the
CLI, the planner (finish) and the dispatcher's auto-pause.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.campaigns.service import transition
from app.learning.service import retire_all
from app.outbox.state import drop_pending

DROPS_UNSENT = frozenset({"pause", "cancel", "finish"})
ENDS_QUESTIONS = frozenset({"cancel", "finish"})


def change_status(
    session: Session, campaign: Campaign, action: str, now: datetime, reason: str = ""
) -> None:
    """Apply `action` (start, pause, resume, cancel, finish) with its consequences."""
    transition(session, campaign, action, now, reason=reason)
    if action in DROPS_UNSENT:
        drop_pending(session, campaign.id)
    if action in ENDS_QUESTIONS:
        retire_all(session, campaign.id, now)
