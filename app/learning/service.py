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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, exists, func, insert, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from app.campaigns.models import Campaign, Enrollment, EnrollmentStatus
from app.core.bulk import insert_rows, one_of, update_rows
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


class DeliveryFacts(Protocol):
    """What a review needs of the e-mail that asked the question (app.tracking's SentMail)."""

    @property
    def id(self) -> int: ...
    @property
    def enrollment_id(self) -> int: ...
    @property
    def campaign_id(self) -> int: ...
    @property
    def sent_at(self) -> datetime | None: ...


class AnswerFacts(Protocol):
    """What a review needs of a recorded answer (app.tracking's stored answers have these)."""

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


@dataclass(frozen=True)
class Answered:
    """A newly recorded answer to review: its e-mail, and when it came in (`now`: the time a
    card made for it is created at)."""

    delivery: DeliveryFacts
    answer: AnswerFacts
    now: datetime


# Core statements: the rows are plain dicts, no ORM objects to build and flush.
_CARDS: Table = ReviewCard.__table__  # type: ignore[assignment]
_LOGS: Table = ReviewLog.__table__  # type: ignore[assignment]
# Built once, with one text for any number of ids (app/core/bulk.py).
_CARDS_OF = select(_CARDS).where(one_of(_CARDS.c.enrollment_id, "ids"))
_RETENTION = select(Campaign.id, Campaign.desired_retention, Campaign.retire_after).where(
    one_of(Campaign.id, "ids")
)
# What a counted answer changes on its card: always the schedule, on a review the streak too,
# and when the card retires its retirement. A card is written only in what its answers
# changed, as the ORM did: a campaign ending at the same moment keeps its retirement.
_MOVED: tuple[str, ...] = (
    "fsrs_state",
    "due",
    "last_correct",
    "last_answered_at",
    "offers_unanswered",
)
_REVIEWED: tuple[str, ...] = ("reviews", "correct_streak")
_RETIRED: tuple[str, ...] = ("retired_at", "retired_reason")


def record_reviews(session: Session, items: Sequence[Answered]) -> None:
    """Log each answer on its card and, when it counts, move the card's FSRS schedule.

    In order, as if one at a time: two answers on one card apply one after the other. A
    constant number of statements however many answers: one read of their campaigns, one of
    their cards (missing cards are made together first), one insert of the logs and an
    executemany update of the cards that moved per set of columns they changed (a few
    at most: a first answer's, a review's, and either with a retirement)."""
    if not items:
        return
    connection = session.connection()
    ids = sorted({i.delivery.campaign_id for i in items})
    campaigns = {row[0]: (row[1], row[2]) for row in connection.execute(_RETENTION, {"ids": ids})}
    cards = _cards_for(session, items)
    logs = []
    moved: dict[int, set[str]] = {}  # card id -> the columns its answers changed
    for item in items:
        delivery, answer = item.delivery, item.answer
        card = cards[(delivery.enrollment_id, answer.lesson_id)]
        retention, retire_after = campaigns[delivery.campaign_id]
        logs.append(_log_row(card, delivery, answer))
        columns = _apply(card, delivery, answer, retention, retire_after)
        if columns:
            moved.setdefault(card["id"], set()).update(columns)
    insert_rows(connection, _LOGS, logs)
    by_id = {card["id"]: card for card in cards.values()}
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # one update per shape
    for card_id, changed in moved.items():
        shape = tuple(sorted(changed))
        row = {"id": card_id} | {c: by_id[card_id][c] for c in shape}
        shapes.setdefault(shape, []).append(row)
    for rows in shapes.values():
        update_rows(connection, _CARDS, rows)
    _forget_loaded_cards(session, moved)


def _counted(card: dict[str, Any], delivery: DeliveryFacts, answer: AnswerFacts) -> bool:
    """Only the first answer to the e-mail that most recently carried an open card counts."""
    return bool(
        card["retired_at"] is None
        and answer.attempt == 1
        and card["offered_delivery_id"] == delivery.id
    )


def _log_row(card: dict[str, Any], delivery: DeliveryFacts, answer: AnswerFacts) -> dict[str, Any]:
    """The review log of an answer, from its card as it stood before the answer."""
    answered_at = answer.answered_at
    sent_at = delivery.sent_at or answered_at
    last = card["last_answered_at"]
    return {
        "card_id": card["id"],
        "answer_id": answer.id,
        "delivery_id": delivery.id,
        "review_number": card["reviews"] + 1 if card["fsrs_state"] is not None else 0,
        "sent_at": sent_at,
        "answered_at": answered_at,
        "rating": 3 if answer.correct else 1,
        "correct": answer.correct,
        "days_since_exposure": (answered_at - last).total_seconds() / 86400 if last else None,
        "response_delay_seconds": max(0.0, (answered_at - sent_at).total_seconds()),
        "counted": _counted(card, delivery, answer),
    }


def _apply(
    card: dict[str, Any],
    delivery: DeliveryFacts,
    answer: AnswerFacts,
    desired_retention: float,
    retire_after: int,
) -> tuple[str, ...]:
    """Move the card (in place) when the answer counts; the columns it changed."""
    if not _counted(card, delivery, answer):
        return ()
    changed = _MOVED
    answered_at = answer.answered_at
    is_review = card["fsrs_state"] is not None
    card["fsrs_state"], card["due"] = review(
        card["fsrs_state"], card["id"], answer.correct, answered_at, desired_retention
    )
    if is_review:
        card["reviews"] += 1
        card["correct_streak"] = card["correct_streak"] + 1 if answer.correct else 0
        changed += _REVIEWED
    card["last_correct"] = answer.correct
    card["last_answered_at"] = answered_at
    card["offers_unanswered"] = 0
    if card["correct_streak"] >= retire_after:
        card["retired_at"] = answered_at
        card["retired_reason"] = RetiredReason.mastered
        changed += _RETIRED
    return changed


def _cards_for(
    session: Session, items: Sequence[Answered]
) -> dict[tuple[int, int], dict[str, Any]]:
    """The cards of the answers, by (enrollment, lesson), as plain dicts. A missing card is
    made as its first answer's e-mail would have: offered by it, due when it was sent. The
    planner may make one at the same moment: the insert then leaves its card be (ON CONFLICT
    DO NOTHING, waiting for the planner's commit on PostgreSQL) and the read-back finds it."""
    pairs = sorted({(i.delivery.enrollment_id, i.answer.lesson_id) for i in items})
    cards = _read_cards(session, pairs)
    missing: dict[tuple[int, int], dict[str, Any]] = {}
    for item in items:
        pair = (item.delivery.enrollment_id, item.answer.lesson_id)
        if pair not in cards and pair not in missing:
            sent_at = item.delivery.sent_at or item.now
            missing[pair] = {
                "enrollment_id": pair[0],
                "lesson_id": pair[1],
                "due": sent_at,
                "offered_delivery_id": item.delivery.id,
                "offers_unanswered": 1,
                "last_offered_at": sent_at,
                "created_at": item.now,
                "reviews": 0,
                "correct_streak": 0,
            }
    if missing:
        insert_rows(session.connection(), _CARDS, list(missing.values()), skip_existing=True)
        cards |= _read_cards(session, sorted(missing))
    return cards


def _read_cards(
    session: Session, pairs: list[tuple[int, int]]
) -> dict[tuple[int, int], dict[str, Any]]:
    """The cards of `pairs` (enrollment, lesson): read by enrollment (one statement text for
    any number of pairs), the other lessons' cards left out."""
    wanted = set(pairs)
    ids = sorted({enrollment for enrollment, _lesson in pairs})
    rows = session.connection().execute(_CARDS_OF, {"ids": ids})
    cards = {(r.enrollment_id, r.lesson_id): dict(r._mapping) for r in rows}
    return {pair: card for pair, card in cards.items() if pair in wanted}


def _forget_loaded_cards(session: Session, moved: dict[int, set[str]]) -> None:
    """Cards written around the ORM: any the session holds are read again when next used."""
    for card_id in moved:
        loaded = session.identity_map.get(identity_key(ReviewCard, card_id))
        if loaded is not None:
            session.expire(loaded)


def card_counts(session: Session, campaign_id: int) -> dict[str, Any]:
    total, retired = session.execute(
        select(func.count(), func.count(ReviewCard.retired_at))
        .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
        .where(Enrollment.campaign_id == campaign_id)
    ).one()
    return {"cards": total, "retired": retired}
