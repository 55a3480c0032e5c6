from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class EmployeeSource(StrEnum):
    """Where the person came from, and so who keeps them up to date."""

    file = "file"  # a staff-list import (CSV/XLSX), or an edit in the API
    scim = "scim"  # the identity provider's provisioning service through /scim/v2 (Entra ID)


class Employee(Base):
    __tablename__ = "employees"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so addresses compare case-insensitively on every database.
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    department: Mapped[str] = mapped_column(String(200), default="", index=True)
    employee_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deactivated_at: Mapped[datetime | None]
    # Set when bounces showed the address reaches no one (one hard bounce, or BOUNCE_SOFT_LIMIT
    # soft ones): no more e-mails until the address changes, which clears all three.
    undeliverable_at: Mapped[datetime | None]
    undeliverable_reason: Mapped[str | None] = mapped_column(String(500))
    soft_bounces: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set when the person was erased (GDPR): identity gone, anonymous counts kept.
    erased_at: Mapped[datetime | None]
    # A SCIM-managed person is never deactivated or reactivated by a staff-list file.
    source: Mapped[EmployeeSource] = mapped_column(
        String(16), default=EmployeeSource.file, server_default=EmployeeSource.file.value
    )
    # The SCIM userName and externalId while the provider manages the person (app/scim); both
    # are cleared when it deletes them, so the id answers 404 there and the person stays.
    scim_user_name: Mapped[str | None] = mapped_column(String(320), unique=True, index=True)
    scim_external_id: Mapped[str | None] = mapped_column(String(255), unique=True, index=True)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
