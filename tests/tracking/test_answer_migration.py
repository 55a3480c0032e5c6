"""Migration 0006 on a database where racing confirms already stored two first answers: they are
numbered again by arrival, only the first one's review log counts, and the indexes go on."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.core.clock import FakeClock
from app.core.migrate import alembic_config, upgrade
from app.core.runtime import Runtime
from app.learning.models import ReviewLog
from app.tracking.models import Answer
from tests.flow import answer, mail_links
from tests.smtp_server import SmtpSink
from tests.tracking.campaign import ANNA, ERIK, send_first_lesson


def downgrade_to(engine: Engine, revision: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def copy(session: Session, original: Answer, seconds: int, attempt: int) -> Answer:
    """What a racing confirm stored before 0006: the same answer again, a little later."""
    twin = Answer(
        delivery_id=original.delivery_id,
        enrollment_id=original.enrollment_id,
        lesson_id=original.lesson_id,
        lesson_hash=original.lesson_hash,
        is_review=original.is_review,
        option_index=original.option_index,
        correct=original.correct,
        attempt=attempt,
        answered_at=original.answered_at + timedelta(seconds=seconds),
    )
    session.add(twin)
    session.flush()
    log = session.scalars(select(ReviewLog).where(ReviewLog.answer_id == original.id)).one()
    session.add(
        ReviewLog(
            card_id=log.card_id,
            answer_id=twin.id,
            delivery_id=log.delivery_id,
            review_number=log.review_number,
            sent_at=log.sent_at,
            answered_at=twin.answered_at,
            rating=log.rating,
            correct=log.correct,
            days_since_exposure=log.days_since_exposure,
            response_delay_seconds=log.response_delay_seconds,
            counted=attempt == 1,
        )
    )
    return twin


def test_doubled_first_answers_are_numbered_again_and_count_once(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
    engine: Engine,
) -> None:
    sent = send_first_lesson(runtime, client, clock, smtp_sink, editor_headers)
    clock.advance(minutes=20)
    for address in (ANNA, ERIK):
        [key] = mail_links(sent.mail[address]).answers
        assert answer(client, sent.mail[address], key, 0).status_code == 200
    downgrade_to(engine, "0005")
    try:
        with runtime.session_factory() as session:
            anna, erik = session.scalars(select(Answer).order_by(Answer.id)).all()
            # Anna: two racing first answers. Erik: a race, then a real second attempt.
            copy(session, anna, seconds=1, attempt=1)
            copy(session, erik, seconds=60, attempt=2)
            copy(session, erik, seconds=1, attempt=1)
            log = session.scalars(select(ReviewLog).where(ReviewLog.answer_id == anna.id)).one()
            columns = [c.key for c in ReviewLog.__table__.columns if c.key != "id"]
            session.add(ReviewLog(**{c: getattr(log, c) for c in columns}))  # logged twice
            session.commit()
    finally:
        upgrade(engine)

    with runtime.session_factory() as session:
        rows = session.execute(
            select(Answer.delivery_id, Answer.attempt, ReviewLog.counted)
            .join(ReviewLog, ReviewLog.answer_id == Answer.id)
            .order_by(Answer.delivery_id, Answer.answered_at)
        ).all()
    by_delivery: dict[int, list[tuple[int, bool]]] = {}
    for delivery, attempt, counted in rows:
        by_delivery.setdefault(delivery, []).append((attempt, counted))
    assert list(by_delivery.values()) == [
        [(1, True), (2, False)],
        [(1, True), (2, False), (3, False)],
    ]
