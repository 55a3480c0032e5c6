"""A gate group's confirms are stored together (app/tracking/service.py `record_answers`): the
same answers, attempts, review logs and cards as the same confirms one group at a time; a
lost race re-decides the whole group; a hostile option stores nothing and fails no other.

The groups are made as the gate makes them: `store_group` on a list of Visits, in one
transaction of the real database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Select, delete, event, insert, select
from sqlalchemy.orm import Session

from app.core.runtime import Runtime
from app.learning.models import ReviewCard, ReviewLog
from app.learning.service import make_cards_for_sent_lessons
from app.tracking.models import Answer
from app.tracking.ratelimit import PublicLimits
from app.tracking.service import AnswerOutcome, VersionCache
from app.tracking.visits import Visit, store_group
from tests.flow import correct_options, mail_links
from tests.tracking.campaign import ANNA, CAMPAIGN, ERIK, Sent, delivery_id

LIMITS = PublicLimits(1_000_000, 1_000_000)

# (who, seconds after the start, option: "right", "wrong" or a form's raw value)
CONFIRMS = [
    (ANNA, 0.0, "right"),
    (ANNA, 0.2, "right"),  # a double-click: the same answer
    (ERIK, 0.3, "wrong"),
    (ANNA, 0.4, "wrong"),  # a changed choice: attempt 2
    (ERIK, 0.5, "right"),  # attempt 2
    (ERIK, 0.6, "wrong"),  # repeats attempt 1
    (ANNA, 6.5, "right"),  # past REPEAT_SECONDS: attempt 3
]
HOSTILE = ["9", "-1", "²", "1e3", "", " 0", "0" * 5000, None]


class Scene:
    """Anna's and Erik's first lesson e-mails, and visits confirming their one question."""

    def __init__(self, runtime: Runtime, sent: Sent, start: datetime) -> None:
        self.runtime = runtime
        self.start = start
        self.delivery = {who: delivery_id(runtime, sent.mail[who]) for who in (ANNA, ERIK)}
        [self.key] = mail_links(sent.mail[ANNA]).answers
        self.right = correct_options(runtime, CAMPAIGN["course"])[self.key]

    def visit(self, who: str, seconds: float, option: str | None, key: str = "") -> Visit:
        if option == "right":
            option = str(self.right)
        elif option == "wrong":
            option = str(1 - min(self.right, 1))
        return Visit(
            now=self.start + timedelta(seconds=seconds),
            keys=(f"a:{who}", f"t:{who}"),
            delivery_id=self.delivery[who],
            method="POST",
            answer=(key or self.key, option),
        )

    def visits(self) -> list[Visit]:
        return [self.visit(who, seconds, option) for who, seconds, option in CONFIRMS]


def stored(session: Session) -> dict[str, Any]:
    """Everything the confirms store, without the ids a rolled-back try may have used up."""
    answers = session.execute(select(Answer).order_by(Answer.id)).scalars().all()
    by_id = {a.id: (a.delivery_id, a.lesson_id, a.attempt) for a in answers}
    cards = session.execute(select(ReviewCard).order_by(ReviewCard.id)).scalars().all()
    card_of = {c.id: (c.enrollment_id, c.lesson_id) for c in cards}
    logs = session.execute(select(ReviewLog).order_by(ReviewLog.id)).scalars().all()
    return {
        "answers": [_columns(a, "id") for a in answers],
        "cards": [_card(c) for c in cards],
        "logs": [
            _columns(g, "id", "answer_id", "card_id")
            | {"answer": by_id[g.answer_id], "card": card_of[g.card_id]}
            for g in logs
        ],
    }


def _card(card: ReviewCard) -> dict[str, Any]:
    """A card's columns; FSRS's state names the card by its id, which depends on the ids a
    rolled-back try used up (PostgreSQL's sequences): only whether it is the card's own."""
    columns = _columns(card, "id")
    if card.fsrs_state is not None:
        own = card.fsrs_state["card_id"] == card.id
        columns["fsrs_state"] = card.fsrs_state | {"card_id": own}
    return columns


def _columns(row: Any, *leave_out: str) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in leave_out}


def outcomes(visits: list[Visit]) -> list[AnswerOutcome | None]:
    return [v.value for v in visits]


@contextmanager
def transaction(runtime: Runtime) -> Iterator[Session]:
    """A transaction as the gate's, rolled back at the end (each variant starts alike)."""
    with runtime.session_factory() as session:
        try:
            yield session
        finally:
            session.rollback()


def one_at_a_time(runtime: Runtime, visits: list[Visit]) -> tuple[dict[str, Any], list[Any]]:
    with transaction(runtime) as session:
        for visit in visits:
            store_group(session, [visit], LIMITS, VersionCache())
        return stored(session), outcomes(visits)


def together(runtime: Runtime, visits: list[Visit]) -> tuple[dict[str, Any], list[Any]]:
    with transaction(runtime) as session:
        store_group(session, visits, LIMITS, VersionCache())
        return stored(session), outcomes(visits)


@pytest.mark.parametrize("cards", ["made by the planner", "not yet made"])
def test_a_group_of_confirms_stores_what_they_would_one_at_a_time(
    runtime: Runtime, sent: Sent, cards: str
) -> None:
    with runtime.session_factory.begin() as session:
        if cards == "not yet made":  # the confirms make the cards
            session.execute(delete(ReviewCard))
        else:
            make_cards_for_sent_lessons(session, sent.campaign_id)
        made = session.scalars(select(ReviewCard.id)).all()
    assert len(made) == (2 if cards == "made by the planner" else 0)
    scene = Scene(runtime, sent, runtime.clock.now())
    alone, alone_outcomes = one_at_a_time(runtime, scene.visits())
    grouped, grouped_outcomes = together(runtime, scene.visits())
    assert grouped == alone
    assert grouped_outcomes == alone_outcomes
    attempts = [o.attempt for o in grouped_outcomes if o is not None]
    assert attempts == [1, 1, 1, 2, 2, 1, 3]
    assert [a["attempt"] for a in grouped["answers"]] == [1, 1, 2, 2, 3]
    assert [g["counted"] for g in grouped["logs"]] == [True, True, False, False, False]
    assert len(grouped["cards"]) == 2
    assert all(c["fsrs_state"] is not None for c in grouped["cards"])


def test_a_hostile_option_stores_nothing_and_fails_no_other_confirm(
    runtime: Runtime, sent: Sent
) -> None:
    scene = Scene(runtime, sent, runtime.clock.now())
    valid, _ = together(runtime, scene.visits())
    hostile = [scene.visit(ANNA, 0.1, option) for option in HOSTILE]
    hostile.append(scene.visit(ERIK, 0.1, "right", key="ingen-sadan-fraga"))
    visits = scene.visits()
    mixed = visits[:2] + hostile[:4] + visits[2:] + hostile[4:]
    grouped, _ = together(runtime, mixed)
    assert grouped == valid
    assert [v.value for v in hostile] == [None] * len(hostile)
    assert all(v.value is not None for v in visits)


def test_a_group_that_loses_a_race_looks_again_and_keeps_attempts_unique(
    runtime: Runtime, sent: Sent
) -> None:
    """Another process stores Anna's attempt 1 between the group's read of the answers and
    its insert: the group's insert fails in its savepoint, and the group decides again."""
    scene = Scene(runtime, sent, runtime.clock.now())
    wrong = 1 - min(scene.right, 1)
    rival_at = scene.start.replace(microsecond=0) - timedelta(seconds=1)
    raced = []

    def rival(conn: Any, clause: Any, *_args: Any) -> None:
        if raced or not isinstance(clause, Select):
            return
        if Answer.__table__ not in clause.get_final_froms():
            return
        raced.append(True)  # once: the re-read must see the rival's answer
        conn.execute(
            insert(Answer).values(
                delivery_id=scene.delivery[ANNA],
                enrollment_id=_enrollment(conn, scene.delivery[ANNA]),
                lesson_id=_lesson(conn, scene.delivery[ANNA]),
                lesson_hash="rival",
                is_review=False,
                option_index=wrong,
                correct=False,
                attempt=1,
                answered_at=rival_at,
            )
        )

    event.listen(runtime.engine, "after_execute", rival)
    try:
        grouped, grouped_outcomes = together(runtime, scene.visits())
    finally:
        event.remove(runtime.engine, "after_execute", rival)
    assert raced
    anna = [a for a in grouped["answers"] if a["delivery_id"] == scene.delivery[ANNA]]
    # The rival's wrong answer is attempt 1; Anna's right one becomes attempt 2, and her wrong
    # one 0.4 s later repeats the rival's (within REPEAT_SECONDS).
    assert [(a["attempt"], a["lesson_hash"] == "rival") for a in anna] == [
        (1, True),
        (2, False),
        (3, False),
    ]
    attempts = [(a["delivery_id"], a["attempt"]) for a in grouped["answers"]]
    assert len(attempts) == len(set(attempts))
    assert [o.attempt if o else None for o in grouped_outcomes] == [2, 2, 1, 1, 2, 1, 3]
    counted = [g["answer"] for g in grouped["logs"] if g["counted"]]
    assert counted == [(scene.delivery[ERIK], anna[0]["lesson_id"], 1)]  # Anna's 1st: the rival's


def _enrollment(conn: Any, delivery: int) -> int:
    from app.outbox.models import Delivery

    return int(conn.scalar(select(Delivery.enrollment_id).where(Delivery.id == delivery)))


def _lesson(conn: Any, delivery: int) -> int:
    from app.outbox.models import Delivery

    return int(conn.scalar(select(Delivery.lesson_id).where(Delivery.id == delivery)))


def test_a_group_stores_its_confirms_in_as_many_statements_as_one_confirm(
    runtime: Runtime, sent: Sent
) -> None:
    """Several e-mails' new answers, repeats and second attempts: no statement per confirm."""
    scene = Scene(runtime, sent, runtime.clock.now())
    one = statements(runtime, [scene.visit(ANNA, 0, "right")])
    assert statements(runtime, scene.visits()) == one


def statements(runtime: Runtime, visits: list[Visit]) -> int:
    """How many statements the group's transaction sends to the database."""
    sent: list[str] = []

    def count(*args: Any) -> None:
        sent.append(args[2])

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        with transaction(runtime) as session:
            store_group(session, visits, LIMITS, VersionCache())
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    return len(sent)
