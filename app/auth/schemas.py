"""API shapes for the API-key admin API: the key itself appears only in the create answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.auth.models import Role

KeyName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
PREFIX_PATTERN = r"^[0-9a-f]{8}$"


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: KeyName = Field(description="Who or what uses the key, e.g. 'Anna, projektledare'.")
    role: Role = Field(
        description="admin: everything; editor: employees and campaigns; reporter: read and "
        "export; provisioning: the staff list through /scim/v2 only (Entra ID provisioning)."
    )


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    prefix: str = Field(description="The visible start of the key; names it in lists and logs.")
    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None = Field(description="To the minute.")
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key. Copy it now: it is stored hashed and never shown again.")
