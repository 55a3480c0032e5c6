from __future__ import annotations

from fastapi import APIRouter

from app.auth.deps import ReaderKey
from app.campaigns.service import get_campaign
from app.core.deps import SessionDep, SettingsDep
from app.learning.schemas import LearningReport
from app.reports.learning import learning_report

router = APIRouter(tags=["learning"])


@router.get("/campaigns/{campaign_id}/learning")
def campaign_learning(
    campaign_id: int, session: SessionDep, settings: SettingsDep, _: ReaderKey
) -> LearningReport:
    """Does the repetition work? Accuracy by repetition, forgetting curve, retention, completion, funnel, questions."""
    campaign = get_campaign(session, campaign_id)
    return learning_report(session, campaign, settings.report_min_group_size)
