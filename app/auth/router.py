"""API keys through the admin API (admins only): list, create (shown once), revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.auth.deps import AdminKey
from app.auth.schemas import PREFIX_PATTERN, ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from app.auth.service import (
    audit_key_change,
    create_api_key,
    find_api_key,
    list_api_keys,
    revoke_api_key,
)
from app.core.deps import ClockDep, SessionDep
from app.core.errors import ProblemError
from app.core.i18n import Text

router = APIRouter(prefix="/api-keys", tags=["api keys"])

PrefixPath = Annotated[str, Path(pattern=PREFIX_PATTERN, description="The key's prefix.")]


@router.get("")
def list_keys(session: SessionDep, _: AdminKey) -> list[ApiKeyOut]:
    """All API keys, revoked ones too; the keys themselves are never shown again."""
    return [ApiKeyOut.model_validate(key) for key in list_api_keys(session)]


@router.post("", status_code=201)
def create_key(
    body: ApiKeyCreate, response: Response, session: SessionDep, clock: ClockDep, admin: AdminKey
) -> ApiKeyCreated:
    """Create an API key; this answer is the only time the key is shown."""
    now = clock.now()
    key, plain = create_api_key(session, body.name, body.role, now)
    audit_key_change(session, admin, key, "create", now)
    response.headers["Cache-Control"] = "no-store"  # the body holds a secret
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=plain)


@router.delete("/{prefix}", status_code=204)
def revoke_key(prefix: PrefixPath, session: SessionDep, clock: ClockDep, admin: AdminKey) -> None:
    """Revoke an API key by its prefix: it stops working at once (again: no change)."""
    key = find_api_key(session, prefix)
    if key is None:
        raise ProblemError(
            404,
            "Not Found",
            Text(
                f"Det finns ingen API-nyckel med prefixet {prefix}. GET /api/v1/api-keys visar dem.",
                f"No API key with prefix {prefix}; GET /api/v1/api-keys lists them",
            ),
        )
    if key.revoked_at is None:  # revoking again changes nothing, so it is not audited
        revoke_api_key(session, prefix, clock.now())
        audit_key_change(session, admin, key, "revoke", clock.now())
