"""`nanolearn learning optimize`: fit FSRS to the organisation's answers."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from sqlalchemy import select

from app.campaigns.models import Enrollment
from app.campaigns.service import get_campaign
from app.core.db import session_scope
from app.core.runtime import Runtime
from app.learning.models import ReviewCard, ReviewLog

app = typer.Typer(
    no_args_is_help=True, help="Spaced repetition: fit FSRS to your organisation's answers."
)
out = Console()
err = Console(stderr=True)
OPTIMIZER_MIN_REVIEWS = 512  # below this the fsrs optimizer returns its defaults


@app.command()
def optimize(
    campaign: int = typer.Option(
        ..., "--campaign", "-c", help="The campaign whose answers to fit."
    ),
) -> None:
    """Fit FSRS parameters to this campaign's answers (needs 512 reviews and fsrs[optimizer])."""
    runtime = Runtime.create()
    with session_scope(runtime.session_factory) as session:
        get_campaign(session, campaign)
        logs = session.execute(
            select(
                ReviewLog.card_id,
                ReviewLog.rating,
                ReviewLog.answered_at,
                ReviewLog.response_delay_seconds,
            )
            .join(ReviewCard, ReviewCard.id == ReviewLog.card_id)
            .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
            .where(Enrollment.campaign_id == campaign, ReviewLog.counted.is_(True))
            .order_by(ReviewLog.answered_at)
        ).all()
    if len(logs) < OPTIMIZER_MIN_REVIEWS:
        err.print(
            f"Only {len(logs)} answered reviews in campaign {campaign}; the FSRS optimizer needs at least "
            f"{OPTIMIZER_MIN_REVIEWS} to learn anything. Keep the default parameters and try again later."
        )
        raise typer.Exit(0)
    try:
        from fsrs import Optimizer, Rating
        from fsrs import ReviewLog as FsrsLog
    except ImportError:
        err.print(
            "The optimizer needs PyTorch: .venv/bin/pip install 'fsrs[optimizer]', then run this again."
        )
        raise typer.Exit(1) from None
    fsrs_logs = [
        FsrsLog(card_id=c, rating=Rating(r), review_datetime=t, review_duration=None)
        for c, r, t, _ in logs
    ]
    parameters = Optimizer(fsrs_logs).compute_optimal_parameters()
    out.print(
        json.dumps({"campaign": campaign, "reviews": len(logs), "parameters": list(parameters)})
    )
