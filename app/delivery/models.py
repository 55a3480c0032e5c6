"""Sending's own tables: the relays' shared rate-limit buckets and daily send counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class RateBucket(Base):
    """One relay's allowance for one of its limits (e.g. per minute), shared by every worker.

    A token bucket: `tokens` e-mails may go now; it refills at the limit's rate up to a small
    burst. Keeping it here rather than in each process makes the limit hold however many
    workers run.
    """

    __tablename__ = "smtp_rate_buckets"

    relay: Mapped[str] = mapped_column(String(255), primary_key=True)  # host:port, no credentials
    window_seconds: Mapped[int] = mapped_column(primary_key=True)
    tokens: Mapped[float]
    updated_at: Mapped[datetime]


class SendCount(Base):
    """E-mails one relay or mailbox was given leave to send in one minute: the rolling window
    of a daily limit (Microsoft 365: 10,000 recipients per mailbox in any 24 hours)."""

    __tablename__ = "smtp_send_counts"

    relay: Mapped[str] = mapped_column(String(255), primary_key=True)
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int]
