"""Spaced repetition: every question an employee has met is a review card, scheduled with FSRS.

- A card is made when the lesson e-mail is sent. It is due at once, so an unanswered question
  is offered once more at the next send; after that it counts as not answered (it stays due
  but comes last, and is never rated wrong).
- Each e-mail carries the next new lesson plus at most `max_reviews_per_email` due cards, in
  priority order (after Qstream): repeats of right answers, then of wrong ones, then questions
  never answered.
- Only the first answer to the e-mail that most recently carried a card moves its schedule.
  Answers to retired cards, to older e-mails and second attempts are kept but change nothing.
- A card retires after `retire_after` right answers in a row on reviews, or when the campaign ends.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import exists, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, Enrollment, EnrollmentStatus
from app.learning.fsrs_schedule import review
from app.learning.models import RetiredReason, ReviewCard, ReviewLog
from app.lessons.models import Lesson
from app.outbox.models import Delivery, DeliveryStatus


@dataclass(frozen=True)
class DueCard:
    card_id: int
    enrollment_id: int
    lesson_id: int
    lesson_hash: str
    offers_unanswered: int


def make_cards_for_sent_lessons(session: Session, campaign_id: int) -> int:
    """Cards for every lesson e-mail sent in the campaign that has none yet (one statement)."""
    has_card = exists().where(
        ReviewCard.enrollment_id == Delivery.enrollment_id,
        ReviewCard.lesson_id == Delivery.lesson_id,
    )
    active = exists().where(
        Enrollment.id == Delivery.enrollment_id, Enrollment.status == EnrollmentStatus.active
    )
    sent = select(
        Delivery.enrollment_id,
        Delivery.lesson_id,
        Delivery.sent_at,
        Delivery.id,
        literal(1),
        Delivery.sent_at,
        Delivery.sent_at,
        literal(0),
        literal(0),
    ).where(
        Delivery.campaign_id == campaign_id,
        Delivery.status == DeliveryStatus.sent,
        Delivery.lesson_id.is_not(None),
        ~has_card,
        active,  # opted-out or erased people get no new cards
    )
    columns = [
        "enrollment_id",
        "lesson_id",
        "due",
        "offered_delivery_id",
        "offers_unanswered",
        "last_offered_at",
        "created_at",
        "reviews",
        "correct_streak",
    ]
    result = session.execute(insert(ReviewCard).from_select(columns, sent))
    return int(getattr(result, "rowcount", 0) or 0)


def _priority(card: ReviewCard) -> tuple[int, datetime]:
    if card.fsrs_state is None:
        category = 3 if card.offers_unanswered >= 2 else 2
    else:
        category = 0 if card.last_correct else 1
    return category, card.due


def due_cards(
    session: Session, campaign_id: int, slot: datetime, per_person: int
) -> dict[int, list[DueCard]]:
    """The cards to carry in this slot's e-mails, by enrollment, best first."""
    if per_person <= 0:
        return {}
    rows = session.execute(
        select(ReviewCard, Lesson.content_hash)
        .join(Lesson, Lesson.id == ReviewCard.lesson_id)
        .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
        .where(
            Enrollment.campaign_id == campaign_id,
            ReviewCard.retired_at.is_(None),
            ReviewCard.due <= slot,
            Lesson.position.is_not(None),  # a question removed from the course is not asked again
        )
    ).all()
    by_person: dict[int, list[tuple[ReviewCard, str]]] = defaultdict(list)
    for card, content_hash in rows:
        by_person[card.enrollment_id].append((card, content_hash))
    chosen: dict[int, list[DueCard]] = {}
    for enrollment_id, cards in by_person.items():
        cards.sort(key=lambda pair: (*_priority(pair[0]), pair[0].id))
        chosen[enrollment_id] = [
            DueCard(c.id, c.enrollment_id, c.lesson_id, h, c.offers_unanswered)
            for c, h in cards[:per_person]
        ]
    return chosen


def mark_offered(session: Session, offered: list[tuple[DueCard, int]], slot: datetime) -> None:
    """Remember which e-mail now carries each card: only its answer will count."""
    if offered:
        session.execute(
            update(ReviewCard),
            [
                {
                    "id": card.card_id,
                    "offered_delivery_id": delivery_id,
                    "offers_unanswered": card.offers_unanswered + 1,
                    "last_offered_at": slot,
                }
                for card, delivery_id in offered
            ],
        )


def enrollments_with_open_cards(session: Session, campaign_id: int) -> set[int]:
    rows = session.scalars(
        select(func.distinct(ReviewCard.enrollment_id))
        .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
        .where(Enrollment.campaign_id == campaign_id, ReviewCard.retired_at.is_(None))
    )
    return set(rows)


def retire_all(session: Session, campaign_id: int, now: datetime) -> int:
    """The campaign has ended: every open card retires."""
    in_campaign = select(Enrollment.id).where(Enrollment.campaign_id == campaign_id)
    result = session.execute(
        update(ReviewCard)
        .where(ReviewCard.enrollment_id.in_(in_campaign), ReviewCard.retired_at.is_(None))
        .values(retired_at=now, retired_reason=RetiredReason.campaign_ended)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _card_for(session: Session, delivery: Delivery, lesson_id: int, now: datetime) -> ReviewCard:
    query = select(ReviewCard).where(
        ReviewCard.enrollment_id == delivery.enrollment_id, ReviewCard.lesson_id == lesson_id
    )
    card = session.scalar(query)
    if card is not None:
        return card
    sent_at = delivery.sent_at or now
    card = ReviewCard(
        enrollment_id=delivery.enrollment_id,
        lesson_id=lesson_id,
        due=sent_at,
        offered_delivery_id=delivery.id,
        offers_unanswered=1,
        last_offered_at=sent_at,
        created_at=now,
        reviews=0,
        correct_streak=0,
    )
    try:
        with session.begin_nested():
            session.add(card)
    except IntegrityError:  # the planner made it at the same moment
        existing = session.scalar(query)
        assert existing is not None
        return existing
    return card


class AnswerFacts(Protocol):
    """What a review needs of a recorded answer (app.tracking's Answer has these)."""

    @property
    def id(self) -> int: ...
    @property
    def lesson_id(self) -> int: ...
    @property
    def answered_at(self) -> datetime: ...
    @property
    def attempt(self) -> int: ...
    @property
    def correct(self) -> bool: ...


def record_review(
    session: Session, delivery: Delivery, answer: AnswerFacts, now: datetime
) -> ReviewLog:
    """Log the answer on its card and, when it counts, move the card's FSRS schedule."""
    campaign = session.get(Campaign, delivery.campaign_id)
    assert campaign is not None
    card = _card_for(session, delivery, answer.lesson_id, now)
    answered_at = answer.answered_at
    counted = (
        card.retired_at is None and answer.attempt == 1 and card.offered_delivery_id == delivery.id
    )
    is_review = card.fsrs_state is not None
    log = ReviewLog(
        card_id=card.id,
        answer_id=answer.id,
        delivery_id=delivery.id,
        review_number=card.reviews + 1 if is_review else 0,
        sent_at=delivery.sent_at or answered_at,
        answered_at=answered_at,
        rating=3 if answer.correct else 1,
        correct=answer.correct,
        days_since_exposure=(
            (answered_at - card.last_answered_at).total_seconds() / 86400
            if card.last_answered_at
            else None
        ),
        response_delay_seconds=max(
            0.0, (answered_at - (delivery.sent_at or answered_at)).total_seconds()
        ),
        counted=counted,
    )
    session.add(log)
    if counted:
        card.fsrs_state, card.due = review(
            card.fsrs_state, card.id, answer.correct, answered_at, campaign.desired_retention
        )
        if is_review:
            card.reviews += 1
            card.correct_streak = card.correct_streak + 1 if answer.correct else 0
        card.last_correct = answer.correct
        card.last_answered_at = answered_at
        card.offers_unanswered = 0
        if card.correct_streak >= campaign.retire_after:
            card.retired_at = answered_at
            card.retired_reason = RetiredReason.mastered
    session.flush()
    return log


def card_counts(session: Session, campaign_id: int) -> dict[str, Any]:
    total, retired = session.execute(
        select(func.count(), func.count(ReviewCard.retired_at))
        .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
        .where(Enrollment.campaign_id == campaign_id)
    ).one()
    return {"cards": total, "retired": retired}
