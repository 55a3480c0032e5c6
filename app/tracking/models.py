from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class EventKind(StrEnum):
    view = "view"  # lesson read in the browser
    answer_click = "answer_click"  # an answer link opened (not an answer: only the POST answers)
    optout = "optout"


class EventClass(StrEnum):
    human = "human"
    automated = "automated"  # mail scanners, link previews, HEAD requests


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EventKind] = mapped_column(String(16))
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lessons.id"))
    occurred_at: Mapped[datetime]
    classification: Mapped[EventClass] = mapped_column(String(16), default=EventClass.human)
    class_reason: Mapped[str] = mapped_column(String(64), default="")


class Answer(Base):
    """Every confirmed answer is an attempt; the first one per question is what counts."""

    __tablename__ = "answers"
    __table_args__ = (
        # A double-submitted form (same delivery, question, choice and second) counts once.
        UniqueConstraint("delivery_id", "lesson_id", "option_index", "answered_at"),
        # One attempt 1 (and one attempt 2, …) per e-mail and question, however requests race.
        Index(
            "uq_answers_delivery_id_lesson_id_attempt",
            "delivery_id",
            "lesson_id",
            "attempt",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), index=True
    )
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"))
    lesson_hash: Mapped[str] = mapped_column(String(64))
    is_review: Mapped[bool] = mapped_column(default=False)
    option_index: Mapped[int]
    correct: Mapped[bool]
    # 1 for the first answer this person gave to this question in this delivery, then 2, 3 …
    attempt: Mapped[int]
    answered_at: Mapped[datetime]


class PublicHit(Base):
    """Requests to the public links per key and fixed window: the rate limits' shared counts.

    Every serving process counts here, so the limits hold across `serve --workers N`. A key is
    a keyed hash of a client address or a link token (neither is stored in clear); rows older
    than the previous window are deleted as the windows move on (app/tracking/gate.py)."""

    __tablename__ = "public_hits"

    # The key first: the gate reads a group's keys by their index (the old windows' rows are
    # deleted once a minute by a scan of this small table).
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch seconds // width
    count: Mapped[int]


class LinkHit(Base):
    """Which link of an e-mail was opened when, for the link-burst rule across processes.

    Kept for a minute at most: the rule looks back BURST_WINDOW (app/tracking/classify.py)."""

    __tablename__ = "link_hits"
    __table_args__ = (Index("ix_link_hits_delivery_id_at", "delivery_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    link: Mapped[str] = mapped_column(String(80))
    # No index of its own: the gate reads hits by e-mail (the composite index above), and a
    # planner offered an index on the time alone takes it for every e-mail of a group
    # (docs/benchmarks.md, fifth round); the minute-old hits are deleted by a scan.
    at: Mapped[datetime]
