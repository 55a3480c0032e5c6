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
    no_args_is_help=True, help="Repetitioner: anpassa FSRS efter organisationens svar."
)
out = Console()
err = Console(stderr=True)
OPTIMIZER_MIN_REVIEWS = 512  # below this the fsrs optimizer returns its defaults


@app.command()
def optimize(
    campaign: int = typer.Option(
        ..., "--campaign", "-c", help="Kampanjen vars svar FSRS ska anpassas efter."
    ),
) -> None:
    """Räkna fram FSRS-parametrar från kampanjens svar (kräver 512 repetitioner och PyTorch)."""
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
            f"Kampanj {campaign} har bara {len(logs)} besvarade repetitioner; FSRS behöver minst "
            f"{OPTIMIZER_MIN_REVIEWS} för att lära sig något. Behåll standardvärdena och försök "
            "igen senare."
        )
        raise typer.Exit(0)
    try:
        from fsrs import Optimizer, Rating
        from fsrs import ReviewLog as FsrsLog
    except ImportError:
        err.print(
            "Beräkningen behöver PyTorch: kör .venv/bin/pip install 'fsrs[optimizer]' och sedan "
            "det här kommandot igen."
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
