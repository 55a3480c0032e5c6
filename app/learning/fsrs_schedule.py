"""FSRS as e-mail needs it: no same-day learning steps, one scheduler per desired retention."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from fsrs import Card, Rating, Scheduler


@lru_cache(maxsize=32)
def scheduler_for(desired_retention: float) -> Scheduler:
    # E-mail is not an app: no minute-long learning steps; every answer schedules days ahead.
    return Scheduler(desired_retention=desired_retention, learning_steps=(), relearning_steps=())


def review(
    state: dict[str, Any] | None,
    card_id: int,
    correct: bool,
    when: datetime,
    desired_retention: float,
) -> tuple[dict[str, Any], datetime]:
    """Apply one answer (right = Good, wrong = Again); returns the new state and the next due time."""
    card = Card.from_dict(state) if state else Card(card_id=card_id)  # type: ignore[arg-type]
    rating = Rating.Good if correct else Rating.Again
    card, _log = scheduler_for(desired_retention).review_card(card, rating, review_datetime=when)
    return dict(card.to_dict()), card.due


def retrievability(state: dict[str, Any] | None, when: datetime, desired_retention: float) -> float:
    if not state:
        return 0.0
    card = Card.from_dict(state)  # type: ignore[arg-type]
    return float(scheduler_for(desired_retention).get_card_retrievability(card, when))
