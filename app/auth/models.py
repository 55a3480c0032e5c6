from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, JSONType


class Role(StrEnum):
    admin = "admin"  # everything, including API keys and the audit log
    editor = "editor"  # employees and campaigns
    reporter = "reporter"  # read and export only
    provisioning = "provisioning"  # the staff list through /scim/v2 only (Entra ID's service)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who changed or exported what, when, and how many rows: readable by admins."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200))  # "key 1a2b3c4d (Anna)", "cli (root)", "system"
    action: Mapped[str] = mapped_column(
        String(64), index=True
    )  # e.g. "employees.import", "export.completion"
    target: Mapped[str] = mapped_column(String(200), default="")  # e.g. "campaign 3"
    rows: Mapped[int | None]
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
