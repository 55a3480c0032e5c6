from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, JSONType


class DeliveryStatus(StrEnum):
    pending = "pending"  # planned, waiting for its due time
    sending = "sending"  # claimed by a dispatcher under a lease
    sent = "sent"  # accepted by the relay
    failed = "failed"  # refused for good (5xx) or out of retries
    cancelled = "cancelled"  # not sent: employee deactivated, opted out or campaign cancelled
    bounced = "bounced"  # sent, then a bounce came back: it reached no one


class Delivery(Base):
    """The outbox: one row per e-mail, written by the planner and claimed by a dispatcher."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # One e-mail per person and send slot, and each lesson at most once per person.
        UniqueConstraint("enrollment_id", "slot_at"),
        UniqueConstraint("enrollment_id", "lesson_id"),
        Index("ix_deliveries_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    slot_at: Mapped[datetime]
    due_at: Mapped[datetime]
    # The new lesson this e-mail carries (None for a review-only e-mail) and its version.
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lessons.id"))
    lesson_hash: Mapped[str | None] = mapped_column(String(64))
    # Review questions carried along: [{"lesson_id": int, "hash": str}].
    review_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONType(), default=list)
    status: Mapped[DeliveryStatus] = mapped_column(String(16), default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)  # the relay's or the bounce's reason
    # The enhanced status code of a bounce (RFC 3463, e.g. 5.1.1; None when it gave none).
    bounce_status: Mapped[str | None] = mapped_column(String(16))
    bounced_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class CarriesLessons(Protocol):
    """What `delivery_items` reads: a Delivery, or a row of its columns."""

    @property
    def lesson_id(self) -> int | None: ...
    @property
    def lesson_hash(self) -> str | None: ...
    @property
    def review_items(self) -> list[dict[str, Any]]: ...


def delivery_items(delivery: CarriesLessons) -> list[tuple[int, str, bool]]:
    """(lesson id, content hash, is_review) for every question the e-mail carries, lesson first."""
    items: list[tuple[int, str, bool]] = []
    if delivery.lesson_id is not None and delivery.lesson_hash is not None:
        items.append((delivery.lesson_id, delivery.lesson_hash, False))
    items.extend((int(r["lesson_id"]), str(r["hash"]), True) for r in delivery.review_items)
    return items
