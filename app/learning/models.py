from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, JSONType


class RetiredReason(StrEnum):
    mastered = "mastered"  # right on reviews N times in a row
    campaign_ended = "campaign_ended"


class ReviewCard(Base):
    """One quiz question one employee has met, scheduled for review with FSRS."""

    __tablename__ = "review_cards"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "lesson_id"),
        Index("ix_review_cards_enrollment_id_due", "enrollment_id", "due"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"))
    # fsrs.Card.to_dict(); None until the question is first answered.
    fsrs_state: Mapped[dict[str, Any] | None] = mapped_column(JSONType())
    due: Mapped[datetime]
    reviews: Mapped[int] = mapped_column(default=0)  # answered reviews, after the first answer
    correct_streak: Mapped[int] = mapped_column(default=0)  # right on reviews in a row
    last_correct: Mapped[bool | None]
    last_answered_at: Mapped[datetime | None]
    # The delivery that most recently carried the question: only its answer moves the schedule.
    offered_delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL")
    )
    offers_unanswered: Mapped[int] = mapped_column(default=0)
    last_offered_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]
    retired_reason: Mapped[RetiredReason | None] = mapped_column(String(16))
    created_at: Mapped[datetime]


class ReviewLog(Base):
    """Every answer to a card, with what FSRS needs to fit parameters per organisation."""

    __tablename__ = "review_logs"
    # One log per answer: an answer can never move a schedule twice.
    __table_args__ = (Index("uq_review_logs_answer_id", "answer_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(
        ForeignKey("review_cards.id", ondelete="CASCADE"), index=True
    )
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    review_number: Mapped[int]  # 0 = the first answer to the question, 1 = first review, …
    sent_at: Mapped[datetime]
    answered_at: Mapped[datetime]
    rating: Mapped[int]  # fsrs.Rating: 1 Again (wrong), 3 Good (right)
    correct: Mapped[bool]
    days_since_exposure: Mapped[float | None]  # since the previous answer with feedback
    response_delay_seconds: Mapped[float]
    # False for attempts that changed no schedule (retired card, old e-mail, second attempt).
    counted: Mapped[bool]
